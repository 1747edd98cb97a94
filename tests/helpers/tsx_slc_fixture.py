"""A tiny TSX SLC folder in the published layout (complex chips, CSV lists, label map) for the reader and pool tests."""
import numpy as np


def write_tsx_slc(root, per_class=10, classes=("forest", "water"), dtype=np.complex64):
    """A tiny copy of the published layout: slc_data/<class>/*.npy, CSV lists with headers, catename→label map."""
    rng = np.random.default_rng(0)
    rows = []
    for name in classes:
        (root / "slc_data" / name).mkdir(parents=True)
        for i in range(per_class):
            z = (rng.normal(size=(8, 8)) + 1j * rng.normal(size=(8, 8))) * (100 if name == "water" else 1000)
            np.save(root / "slc_data" / name / f"{name}_{i}.npy", z.astype(dtype))
            rows.append(f"{name}/{name}_{i}.npy,{name}")
    train = [r for i, r in enumerate(rows) if i % 5]
    val = [r for i, r in enumerate(rows) if not i % 5]
    (root / "slc_train_3.txt").write_text("path,catename\n" + "\n".join(train) + "\n")
    (root / "slc_val_3.txt").write_text("path,catename\n" + "\n".join(val) + "\n")
    (root / "slc_catename2label_cate8.txt").write_text(
        "catename,label\n" + "".join(f"{n},{i}\n" for i, n in enumerate(reversed(classes))))
    return root
