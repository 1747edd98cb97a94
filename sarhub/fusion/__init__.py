"""SAR–optical self-supervised fusion (hard-negative contrastive learning) and unsupervised land-cover segmentation."""
