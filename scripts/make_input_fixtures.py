"""
Small models for xsys' "inputs of real models" tests (test/cli-layout-position.test.ts, test/compiler/layernorm-head.test.ts),
exported by PyTorch 1.13's TorchScript exporter the way real exports look:

- nhwc-cnn.onnx: takes [1, H, W, 3] (channels last, as tf2onnx exports Keras models) and permutes to NCHW inside;
  nchw-cnn.onnx: the same weights taking [1, 3, H, W]. H != W so that a transposed read shows.
- seq-cnn.onnx: a tiny CTC-style recogniser: image [1, 3, 8, 24] -> convolutions -> height pooled away -> a score
  per (position, class), output [1, T = 12, K = 5], like PP-OCR's recogniser ([1, 40, 6625] at width 160).
- ln-head.onnx: an MLP head with nn.LayerNorm exported at opset 14, where torch 1.13 writes it decomposed
  (ReduceMean / Sub / Pow / ReduceMean / Add / Sqrt / Div / Mul / Add), as the wake-word heads of issue 12 are.

    /usr/bin/python3 scripts/make_input_fixtures.py        # writes test/fixtures/inputs/
Needs python3-torch (Debian's 1.13). Seeded: rerunning writes the same weights.
"""
import os

import torch
from torch import nn

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'inputs')
H, W = 12, 16


class Cnn(nn.Module):
    """conv 3->4 (3x3) -> ReLU -> conv 4->6 (3x3, stride 2) -> ReLU -> global average -> linear 6->4."""
    def __init__(self, nhwc: bool):
        super().__init__()
        self.nhwc = nhwc
        self.c1 = nn.Conv2d(3, 4, 3, padding=1)
        self.c2 = nn.Conv2d(4, 6, 3, stride=2, padding=1)
        self.fc = nn.Linear(6, 4)

    def forward(self, x):
        if self.nhwc:
            x = x.permute(0, 3, 1, 2)  # what tf2onnx puts in front of a Keras model: Transpose perm [0, 3, 1, 2]
        x = torch.relu(self.c1(x))
        x = torch.relu(self.c2(x))
        return self.fc(x.mean(dim=(2, 3)))


class SeqCnn(nn.Module):
    """[1, 3, 8, 24] -> conv (stride 2 in width) -> ReLU -> mean over height -> per-position linear -> [1, 12, 5]."""
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, stride=(1, 2), padding=1)
        self.c2 = nn.Conv2d(8, 8, 3, padding=1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = torch.relu(self.c1(x))
        x = torch.relu(self.c2(x))
        x = x.mean(dim=2)            # [1, 8, 12]
        return self.fc(x.permute(0, 2, 1))  # [1, 12, 5]


class LnHead(nn.Module):
    """linear 16->12 -> ReLU -> LayerNorm(12) -> linear 12->8 -> ReLU -> linear 8->3."""
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 12)
        self.ln = nn.LayerNorm(12)
        self.fc2 = nn.Linear(12, 8)
        self.fc3 = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc3(torch.relu(self.fc2(self.ln(torch.relu(self.fc1(x))))))


def export(model: nn.Module, shape, name: str, opset: int):
    model.eval()
    torch.onnx.export(model, torch.zeros(*shape), os.path.join(OUT, name), input_names=['x'], output_names=['y'], opset_version=opset)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(3)
    nchw = Cnn(nhwc=False)
    nhwc = Cnn(nhwc=True)
    nhwc.load_state_dict(nchw.state_dict())
    export(nchw, (1, 3, H, W), 'nchw-cnn.onnx', 13)
    export(nhwc, (1, H, W, 3), 'nhwc-cnn.onnx', 13)
    torch.manual_seed(5)
    export(SeqCnn(), (1, 3, 8, 24), 'seq-cnn.onnx', 13)
    torch.manual_seed(11)
    head = LnHead()
    with torch.no_grad():
        # A LayerNorm with a learnt scale and shift, as trained heads have (the defaults 1 and 0 would hide errors).
        head.ln.weight.uniform_(0.5, 1.5)
        head.ln.bias.uniform_(-0.1, 0.1)
        # Biases a tenth of torch's initial ones (|b| <= 0.025 .. 0.035), as in trained heads whose decision sits in
        # the weights: with the initial ±1/sqrt(fan_in) the three biases alone move the relevance sum by up to 115 %
        # of the logit under the epsilon rule, which would hide what the test measures (the norm).
        for fc in (head.fc1, head.fc2, head.fc3):
            fc.bias.mul_(0.1)
    export(head, (1, 16), 'ln-head.onnx', 14)


if __name__ == '__main__':
    main()
