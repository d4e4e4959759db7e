#!/usr/bin/python3
"""Train a log-mel-spectrogram CNN on raw waveforms whose classes differ in known frequency bands (examples/dft-lrp/mel-*).

Run with Debian's system Python (python3-torch, python3-onnx):

    /usr/bin/python3 scripts/train_mel_signals.py

The model takes the raw waveform and computes its own features inside the ONNX graph, as shipped audio models do
(torchaudio's MelSpectrogram written out, Silero VAD's STFT conv):

    waveform [batch,1,512] (8 kHz, 64 ms)
      -> Pad reflect 128 on both sides (center=True)
      -> Conv1d with fixed Hann-windowed cos/-sin kernels (n_fft 256, hop 64; 129 + 129 output channels, no bias)
      -> Slice into Re and Im, power Re**2 + Im**2 (Pow with exponent 2, Add)
      -> mel filterbank MatMul (32 HTK mel filters, 0-4 kHz, no normalisation: torchaudio's melscale_fbanks)
      -> Log(mel + 1e-6)
      -> Conv2d 8 -> ReLU -> MaxPool 2 -> Conv2d 16 -> ReLU -> mean over frames -> Linear 4

Only the classifier is trained; the front end is fixed. Signals as in scripts/train_dft_signals.py, at length 512:
class k carries two sinusoids from its band (DFT bins of the length-512 signal, 15.625 Hz each: class 0 bins 16-24,
1 40-50, 2 80-94, 3 140-160), every signal a distractor sinusoid from bins 190-220 (amplitude 0-1) and white noise
(sigma 0.3). DFT-LRP on the waveform input should put the frequency relevance on the class band (xsys checks that:
test/frequency/mel-lrp.test.ts).

Outputs in examples/dft-lrp/:
    mel-cnn.onnx              opset 13, input "waveform" [batch,1,512], output "logits" [batch,4]
    mel-test-signals.npy      200 test signals float32 [200,1,512]; mel-test-labels.npy int64 [200]
    mel-bands.json            the bands, the front end's settings, the generator's settings, test accuracy

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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_dft_signals import make as make_band_signals  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "examples", "dft-lrp")
N = 512
SR = 8000
N_FFT = 256
HOP = 64
N_MELS = 32
BANDS = [[16, 24], [40, 50], [80, 94], [140, 160]]
DISTRACTOR = [190, 220]
NOISE = 0.3


def make(count, rng):
    return make_band_signals(count, rng, n=N, bands=BANDS, distractor=DISTRACTOR, noise=NOISE)


def stft_kernels():
    """[2 * (N_FFT/2 + 1), 1, N_FFT]: periodic Hann times cos, then times -sin (Re and Im of the DFT of a frame)."""
    j = np.arange(N_FFT)
    win = 0.5 - 0.5 * np.cos(2 * np.pi * j / N_FFT)
    k = np.arange(N_FFT // 2 + 1)[:, None]
    th = 2 * np.pi * k * j[None, :] / N_FFT
    return np.concatenate([win * np.cos(th), -win * np.sin(th)])[:, None, :].astype(np.float32)


def mel_filters():
    """[N_FFT/2 + 1, N_MELS]: torchaudio.functional.melscale_fbanks(htk, norm=None), f_min 0, f_max SR/2."""
    def hz2mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel2hz(m):
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    freqs = np.linspace(0, SR / 2, N_FFT // 2 + 1)
    pts = mel2hz(np.linspace(hz2mel(0.0), hz2mel(SR / 2), N_MELS + 2))
    diff = np.diff(pts)
    slopes = pts[None, :] - freqs[:, None]
    down = -slopes[:, :-2] / diff[:-1]
    up = slopes[:, 2:] / diff[1:]
    fb = np.maximum(0.0, np.minimum(down, up))
    assert (fb.sum(0) > 0).all(), "an empty mel filter"
    return fb.astype(np.float32)


class MelNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("stft", torch.from_numpy(stft_kernels()))
        self.register_buffer("mel", torch.from_numpy(mel_filters()))
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc = nn.Linear(16 * (N_MELS // 2), len(BANDS))

    def features(self, x):
        x = F.pad(x, (N_FFT // 2, N_FFT // 2), mode="reflect")
        s = F.conv1d(x, self.stft, stride=HOP)  # [b, 258, frames]
        half = N_FFT // 2 + 1
        power = s[:, :half] ** 2 + s[:, half:] ** 2  # [b, 129, frames]
        mel = torch.matmul(power.transpose(1, 2), self.mel)  # [b, frames, 32]
        return torch.log(mel + 1e-6).transpose(1, 2).unsqueeze(1)  # [b, 1, 32, frames]

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv1(self.features(x))), 2)
        h = F.relu(self.conv2(h))  # [b, 16, 16, frames/2]
        return self.fc(torch.flatten(h.mean(3), 1))


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(1)
    xtr, ytr = make(6000, rng)
    xte, yte = make(200, rng)
    net = MelNet()
    opt = torch.optim.Adam([p for p in net.parameters()], lr=2e-3)
    t0 = time.time()
    X, Y = torch.from_numpy(xtr), torch.from_numpy(ytr)
    epochs = 8
    for epoch in range(epochs):
        perm = torch.randperm(len(X))
        for s in range(0, len(X), 100):
            idx = perm[s:s + 100]
            opt.zero_grad()
            loss = F.cross_entropy(net(X[idx]), Y[idx])
            loss.backward()
            opt.step()
        print(f"epoch {epoch}: loss {loss.item():.4f}", file=sys.stderr)
    net.eval()
    with torch.no_grad():
        acc = float((net(torch.from_numpy(xte)).argmax(1).numpy() == yte).mean())
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "mel-cnn.onnx")
    torch.onnx.export(net, torch.zeros(1, 1, N), path, input_names=["waveform"], output_names=["logits"], export_params=True,
                      opset_version=13, do_constant_folding=True, dynamic_axes={"waveform": {0: "batch"}, "logits": {0: "batch"}})
    np.save(os.path.join(OUT, "mel-test-signals.npy"), xte)
    np.save(os.path.join(OUT, "mel-test-labels.npy"), yte)
    info = {
        "description": "Raw 8 kHz waveforms of 512 samples: class k carries two sinusoids from its band (DFT bins of the length-512 signal, 15.625 Hz each); all classes carry a distractor sinusoid from bins 190-220 and white noise. The model computes a log-mel spectrogram inside its graph (reflect pad, STFT conv, Pow, mel MatMul, Log). Written by scripts/train_mel_signals.py.",
        "length": N,
        "sampleRate": SR,
        "nFft": N_FFT,
        "hop": HOP,
        "nMels": N_MELS,
        "bands": BANDS,
        "distractorBand": DISTRACTOR,
        "noiseStd": NOISE,
        "trainSignals": len(xtr),
        "testSignals": len(xte),
        "testAccuracy": acc,
        "epochs": epochs,
        "trainSeconds": round(time.time() - t0, 1),
        "torch": torch.__version__,
    }
    with open(os.path.join(OUT, "mel-bands.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    sys.exit(main())
