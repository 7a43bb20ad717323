"""Building blocks of the classic CNNs (VGG, NiN, Inception, residual, ConvNeXt)."""
