"""Task metrics: classification (top-k, F1, confusion), segmentation (CPA/mIoU/P/R), detection (COCO AP)."""
