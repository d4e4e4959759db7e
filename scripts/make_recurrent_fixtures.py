"""
Small LSTM/GRU models for xsys' recurrent-layer tests (test/compiler/recurrent.test.ts), exported by PyTorch as the
ONNX ops `LSTM` and `GRU`, with float64 reference gradients.

For each model: model.onnx (float32 weights), one .npy per float input, and grad_<input>.npy — the gradient of
sum_b logits[b, target] with respect to that input, computed by autograd on a float64 copy of the model and checked
here against central finite differences in float64 (the script stops if they disagree by more than 1e-6 relative).

    python3 scripts/make_recurrent_fixtures.py        # writes test/fixtures/recurrent/
Needs python3-torch (Debian's 1.13; its TorchScript exporter writes the ONNX without the onnx package).
"""
import json
import os

import numpy as np
import torch
from torch import nn

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'recurrent')
torch.manual_seed(7)


class LstmBi(nn.Module):
    """2-layer bidirectional LSTM, batch-first input, a linear head on the last time step."""
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.head(y[:, -1])


class LstmState(nn.Module):
    """1-layer LSTM fed initial states h0, c0 (model inputs); the head reads the final hidden state h_n."""
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(3, 4)
        self.head = nn.Linear(4, 3)

    def forward(self, x, h0, c0):
        _, (h, c) = self.rnn(x, (h0, c0))
        return self.head(h[-1] + c[-1])


class GruBi(nn.Module):
    """Bidirectional GRU (PyTorch's GRU is ONNX GRU with linear_before_reset=1), mean over time, linear head."""
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(3, 4, bidirectional=True, batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.head(y.mean(1))


class GruState(nn.Module):
    """2-layer GRU with an initial state h0 (a model input); the head reads the whole last-layer sequence."""
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(3, 4, num_layers=2)
        self.head = nn.Linear(4 * 5, 3)

    def forward(self, x, h0):
        y, _ = self.rnn(x, h0)
        return self.head(y.permute(1, 0, 2).reshape(y.shape[1], -1))


CASES = [
    ('lstm-bi', LstmBi(), {'x': (2, 5, 3)}, 1),
    ('lstm-state', LstmState(), {'x': (5, 2, 3), 'h0': (1, 2, 4), 'c0': (1, 2, 4)}, 2),
    ('gru-bi', GruBi(), {'x': (2, 5, 3)}, 0),
    ('gru-state', GruState(), {'x': (5, 2, 3), 'h0': (2, 2, 4)}, 1),
]


def fd_check(model, inputs, target, grads):
    h = 1e-6
    for k, (name, x) in enumerate(inputs.items()):
        flat = x.detach().clone().reshape(-1)
        for i in range(flat.numel()):
            vals = []
            for s in (h, -h):
                xs = {n: v.detach().clone() for n, v in inputs.items()}
                xs[name].view(-1)[i] += s
                vals.append(model(*xs.values())[:, target].sum().item())
            fd = (vals[0] - vals[1]) / (2 * h)
            g = grads[k].reshape(-1)[i].item()
            assert abs(fd - g) <= 1e-6 * max(1.0, abs(g)), f'{name}[{i}]: fd {fd} vs autograd {g}'


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = []
    rng = np.random.default_rng(3)
    for name, model, shapes, target in CASES:
        model.eval()
        inputs32 = {n: torch.tensor(rng.uniform(-1, 1, s).astype(np.float32)) for n, s in shapes.items()}
        torch.onnx.export(model, tuple(inputs32.values()), os.path.join(OUT, f'{name}.onnx'), input_names=list(shapes),
                          output_names=['logits'], opset_version=14)
        m64 = model.double()
        inputs = {n: v.double().requires_grad_(True) for n, v in inputs32.items()}
        logits = m64(*inputs.values())
        grads = torch.autograd.grad(logits[:, target].sum(), list(inputs.values()))
        fd_check(m64, inputs, target, grads)
        files = {}
        for (n, v), g in zip(inputs32.items(), grads):
            np.save(os.path.join(OUT, f'{name}.{n}.npy'), v.numpy())
            np.save(os.path.join(OUT, f'{name}.grad_{n}.npy'), g.numpy())
            files[n] = {'input': f'{name}.{n}.npy', 'grad': f'{name}.grad_{n}.npy', 'shape': list(shapes[n])}
        manifest.append({'name': name, 'model': f'{name}.onnx', 'target': target, 'inputs': files,
                         'logits': logits.detach().numpy().tolist()})
        model.float()
    with open(os.path.join(OUT, 'manifest.json'), 'w') as f:
        json.dump({'description': 'LSTM/GRU exported by PyTorch 1.13 (opset 14); grad_* = d sum_b logits[b, target] / d input, float64 autograd, checked against float64 central differences', 'cases': manifest}, f, indent=1)


if __name__ == '__main__':
    main()
