"""``python -m cnnlib.models [name ...]``: each model's measured size next to the published.

Builds the ImageNet-size models one at a time (about a minute on 2 cores in all) and
prints keras' ``count_params()``, the trainable count, the trainable count without
convolution biases (what torchvision and the papers count for ResNets), the
multiply-adds at the default input size, and the published figures.
"""

import sys

import keras

from cnnlib import models as M

#: name: (builder, published parameters / GFLOPs, where they come from)
PUBLISHED = {
    "lenet5": (M.lenet5, "61,706 (61,470 weights: the lecture's table)"),
    "alexnet": (M.alexnet, "lecture table: 46M without the 1000-way layer, 1G FLOP"),
    "vgg11": (M.vgg11, "133M (paper table 2)"),
    "vgg16": (M.vgg16, "138,357,544 (keras.applications; paper 138M)"),
    "vgg19": (M.vgg19, "143,667,240 (keras.applications; paper 144M)"),
    "nin": (M.nin, "- (d2l NiN, 10 classes)"),
    "googlenet": (M.googlenet, "~6.8M summing paper table 1; 1.5G multiply-adds"),
    "resnet18": (M.resnet18, "11,689,512 bias-free (torchvision); 1.8 GFLOPs"),
    "resnet34": (M.resnet34, "21,797,672 bias-free; 3.6 GFLOPs"),
    "resnet50": (M.resnet50, "25,636,712 keras.applications / 25,557,032 bias-free; 3.8"),
    "resnet101": (M.resnet101, "44,707,176 keras.applications / 44,549,160 bias-free; 7.6"),
    "resnet152": (M.resnet152, "60,419,944 keras.applications / 60,192,808 bias-free; 11.3"),
    "convnext_tiny": (M.convnext_tiny, "28,589,128; 4.5 GFLOPs"),
    "convnext_small": (M.convnext_small, "50,223,688; 8.7 GFLOPs"),
    "convnext_base": (M.convnext_base, "88,591,464; 15.4 GFLOPs"),
}


def _size(variable):
    size = 1
    for d in variable.shape:
        size *= d
    return size


def main(names=None):
    names = names or list(PUBLISHED)
    unknown = [n for n in names if n not in PUBLISHED]
    if unknown:
        print(f"unknown model(s) {unknown}; choose from {list(PUBLISHED)}", file=sys.stderr)
        return 1
    print(f"{'model':15s} {'count_params':>13s} {'trainable':>13s} {'no conv bias':>13s} "
          f"{'GFLOPs':>7s}  published")
    for name in names:
        builder, published = PUBLISHED[name]
        model = builder()
        trainable = sum(_size(v) for v in model.trainable_weights)
        conv_bias = sum(_size(layer.bias) for layer in model._flatten_layers(include_self=False)
                        if isinstance(layer, keras.layers.Conv2D) and layer.use_bias)
        print(f"{name:15s} {model.count_params():13,d} {trainable:13,d} "
              f"{trainable - conv_bias:13,d} {M.count_flops(model) / 1e9:7.2f}  {published}",
              flush=True)
        del model
        keras.backend.clear_session()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
