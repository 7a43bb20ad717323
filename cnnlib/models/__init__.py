"""Models from LeNet-5 to ConvNeXt, with their published sizes."""
