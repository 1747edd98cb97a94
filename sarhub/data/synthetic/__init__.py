"""A SAR simulator that writes the real on-disk formats, so every script has a deterministic embedded default.

`speckle` holds the physics shared by all scene families (multiplicative gamma speckle, textured reflectivity);
each sibling module builds one family of scenes (land-cover patches, targets with shadows, ships, buildings).
"""
