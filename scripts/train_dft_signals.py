#!/usr/bin/python3
"""Train a small 1-D CNN on synthetic signals whose classes differ in known frequency bands (examples/dft-lrp/).

Run with Debian's system Python (python3-torch, python3-onnx):

    /usr/bin/python3 scripts/train_dft_signals.py

Each signal has N = 128 samples. Class k carries two sinusoids with frequencies drawn uniformly (continuous, in DFT
bins) from its band (bands.json: class 0 bins 5-8, class 1 13-16, class 2 21-24, class 3 29-32), random phases and
amplitudes 0.6-1.0; every signal also carries a distractor sinusoid from bins 40-50 (amplitude 0-1, the same for all
classes) and white noise (sigma 0.3). So only the class band tells the classes apart, and DFT-LRP's relevance in the
frequency domain should concentrate there (xsys checks that: test/frequency/dft-lrp.test.ts).

Outputs in examples/dft-lrp/:
    signal-cnn.onnx       opset 13, input "signal" [batch,1,128], output "logits" [batch,4]
    test-signals.npy      400 test signals float32 [400,1,128]; test-labels.npy int64 [400]
    bands.json            the bands, the generator's settings, test accuracy

Deterministic: fixed seeds, deterministic algorithms, one thread.
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "examples", "dft-lrp")
N = 128
BANDS = [[5, 8], [13, 16], [21, 24], [29, 32]]
DISTRACTOR = [40, 50]
NOISE = 0.3


def make(count, rng, n=N, bands=BANDS, distractor=DISTRACTOR, noise=NOISE):
    """Signals of length n whose class is a frequency band (two cosines in it), with a distractor cosine and noise.
    Shared by train_mel_signals.py, which draws its own bands at another length."""
    y = rng.integers(0, len(bands), size=count)
    t = np.arange(n)
    x = np.zeros((count, n))
    for i in range(count):
        lo, hi = bands[y[i]]
        for _ in range(2):
            f = rng.uniform(lo, hi)
            x[i] += rng.uniform(0.6, 1.0) * np.cos(2 * np.pi * f * t / n + rng.uniform(0, 2 * np.pi))
        f = rng.uniform(*distractor)
        x[i] += rng.uniform(0, 1) * np.cos(2 * np.pi * f * t / n + rng.uniform(0, 2 * np.pi))
        x[i] += rng.normal(0, noise, size=n)
    return x.astype(np.float32)[:, None, :], y.astype(np.int64)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(1, 16, 7, padding=3)
        self.conv2 = nn.Conv1d(16, 16, 7, padding=3)
        self.fc1 = nn.Linear(16 * 32, 32)
        self.fc2 = nn.Linear(32, len(BANDS))

    def forward(self, x):
        x = F.max_pool1d(F.relu(self.conv1(x)), 2)
        x = F.max_pool1d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(0)
    xtr, ytr = make(6000, rng)
    xte, yte = make(400, rng)
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    t0 = time.time()
    X, Y = torch.from_numpy(xtr), torch.from_numpy(ytr)
    for epoch in range(10):
        perm = torch.randperm(len(X))
        for s in range(0, len(X), 100):
            idx = perm[s:s + 100]
            opt.zero_grad()
            loss = F.cross_entropy(net(X[idx]), Y[idx])
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        acc = float((net(torch.from_numpy(xte)).argmax(1).numpy() == yte).mean())
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "signal-cnn.onnx")
    torch.onnx.export(net, torch.zeros(1, 1, N), path, input_names=["signal"], output_names=["logits"], export_params=True,
                      opset_version=13, do_constant_folding=True, dynamic_axes={"signal": {0: "batch"}, "logits": {0: "batch"}})
    np.save(os.path.join(OUT, "test-signals.npy"), xte)
    np.save(os.path.join(OUT, "test-labels.npy"), yte)
    info = {
        "description": "Synthetic 1-D signals: class k carries two sinusoids from its band (DFT bins of a length-128 signal); all classes carry a distractor sinusoid from bins 40-50 and white noise. Written by scripts/train_dft_signals.py.",
        "length": N,
        "bands": BANDS,
        "distractorBand": DISTRACTOR,
        "noiseStd": NOISE,
        "trainSignals": len(xtr),
        "testSignals": len(xte),
        "testAccuracy": acc,
        "epochs": 10,
        "trainSeconds": round(time.time() - t0, 1),
        "torch": torch.__version__,
    }
    with open(os.path.join(OUT, "bands.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    sys.exit(main())
