"""
Quantus 0.6.0's (commit 85bc29d1) RegionPerturbation, Selectivity and PixelFlipping, re-traced step by step in numpy
on the metrics-conformance arrays (x 2x1x8x8, the linear 3-class model), for parameter sets the shared fixtures do not
hold: patch sizes that do not divide the image (Quantus 0.6 pads the image to a multiple of the patch size, half
before and half after, and takes the non-overlapping blocks of that grid), and the 'mean' and 'white' baselines (taken
from the current, already perturbed array at every step — for the patch metrics the edge-padded one).

usage: /usr/bin/python3 scripts/investigations/quantus06_perturbation_reference.py <metrics-conformance dir> <out dir>
Writes <out>/manifest.json (+ data/, models/), a manifest `xsys conformance` runs.
"""
import json
import math
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import numpy_helper

src, out = sys.argv[1], sys.argv[2]
x_batch = np.load(os.path.join(src, 'data/x.npy'))
y_batch = np.load(os.path.join(src, 'data/y.npy'))
W = numpy_helper.to_array(onnx.load(os.path.join(src, 'models/linear.onnx')).graph.initializer[0]).astype(np.float32)
B = len(x_batch)


def predict(x, softmax):
    z = x.reshape(x.shape[0], -1).astype(np.float32) @ W
    if softmax:
        e = np.exp(z - z.max(axis=1, keepdims=True))
        z = e / e.sum(axis=1, keepdims=True)
    return z[np.arange(B), y_batch].astype(np.float64)


def normalise_by_max(a):
    # Quantus 0.6's default for every metric here, over the whole batch (the base class passes no axes).
    return a / np.abs(a).max()


def baseline(arr, kind):
    # arr: B x F, the current array; one value per sample
    return {'black': arr.min(axis=1), 'white': arr.max(axis=1), 'mean': arr.mean(axis=1)}[kind][:, None]


def padding(dim, p):
    m = dim % p
    if m == 0:
        return (0, 0)
    t = p - m
    return (math.floor(t / 2), math.ceil(t / 2))


def blocks(shape, p):
    # The flat indices of every p x p block (all channels) of a B x C x H x W array, row-major over the blocks.
    _, C, H, Wd = shape
    out = []
    for br in range(H // p):
        for bc in range(Wd // p):
            idx = [(c * H + r) * Wd + q for c in range(C) for r in range(br * p, br * p + p) for q in range(bc * p, bc * p + p)]
            out.append(np.array(idx))
    return out


def patch_metric(a, patch, order, regions, softmax, kind, selectivity):
    x = x_batch.copy()
    y0 = predict(x, softmax)
    ph, pw = padding(x.shape[2], patch), padding(x.shape[3], patch)
    pad = ((0, 0), (0, 0), ph, pw)
    a_pad = np.pad(a, pad, mode='constant')
    blk = blocks(a_pad.shape, patch)
    sums = np.stack([a_pad.reshape(B, -1)[:, b].sum(axis=-1) for b in blk], -1)
    ordr = np.argsort(-sums, -1) if order == 'morf' else np.argsort(sums, -1)
    xp = np.pad(x, pad, mode='edge')
    shape = xp.shape
    curves = []
    steps = len(blk) if selectivity else min(regions, len(blk))
    for t in range(steps):
        flat = xp.reshape(B, -1).copy()
        base = baseline(flat, kind)
        for i in range(B):
            flat[i, blk[ordr[i, t]]] = base[i, 0]
        xp = flat.reshape(shape)
        xr = xp[:, :, ph[0]:shape[2] - ph[1], pw[0]:shape[3] - pw[1]]
        yp = predict(xr, softmax)
        curves.append(yp if selectivity else y0 - yp)
    return np.stack(curves, 1)


def pixel_flipping(a, step, softmax, kind):
    x = x_batch.copy()
    flat_a = a.reshape(B, -1)
    idx = np.argsort(-flat_a, axis=1)
    n = math.ceil(flat_a.shape[1] / step)
    xp = x.reshape(B, -1).copy()
    curves = []
    for t in range(n):
        base = baseline(xp, kind)
        for i in range(B):
            xp[i, idx[i, t * step:(t + 1) * step]] = base[i, 0]
        curves.append(predict(xp.reshape(x.shape), softmax))
    return np.stack(curves, 1)


cases = []
arrays = {f: normalise_by_max(np.load(os.path.join(src, f'data/a_fixture_{f}.npy'))) for f in ['a', 'b']}


def case(cid, metric, params, fixture, expected):
    cases.append({'id': cid, 'metric': metric, 'params': params, 'a': f'data/a_fixture_{fixture}.npy', 'x': 'data/x.npy', 'y': 'data/y.npy',
                  's': 'data/s.npy', 'expected': [[round(float(v), 10) for v in row] for row in expected], 'tolerance': 1e-5, 'model': 'models/linear.onnx'})


for f, a in arrays.items():
    for patch, order, regions, softmax, kind in [(2, 'morf', 100, True, 'black'), (3, 'morf', 10, True, 'black'), (3, 'lerf', 100, False, 'black'),
                                                 (5, 'morf', 3, True, 'black'), (8, 'morf', 100, False, 'black'), (3, 'morf', 100, False, 'mean'),
                                                 (5, 'lerf', 100, True, 'mean'), (4, 'morf', 100, False, 'white')]:
        params = {'patch_size': patch, 'order': order, 'regions_evaluation': regions, 'baseline': kind, 'softmax': softmax, 'abs': False, 'normalise': True, 'return': 'curve'}
        case(f'region-perturbation/{f}-p{patch}-{order}-r{regions}-{"softmax" if softmax else "logits"}-{kind}', 'region-perturbation', params, f,
             patch_metric(a, patch, order, regions, softmax, kind, False))
    for patch, softmax, kind in [(2, True, 'black'), (3, False, 'black'), (5, True, 'mean')]:
        params = {'patch_size': patch, 'baseline': kind, 'softmax': softmax, 'abs': False, 'normalise': True, 'return': 'curve'}
        case(f'selectivity/{f}-p{patch}-{"softmax" if softmax else "logits"}-{kind}', 'selectivity', params, f, patch_metric(a, patch, 'morf', 0, softmax, kind, True))
    for step, softmax, kind in [(1, True, 'mean'), (7, False, 'mean'), (16, False, 'white')]:
        params = {'features_in_step': step, 'baseline': kind, 'softmax': softmax, 'abs': False, 'normalise': True, 'return': 'curve'}
        case(f'pixel-flipping/{f}-step{step}-{"softmax" if softmax else "logits"}-{kind}', 'pixel-flipping', params, f, pixel_flipping(a, step, softmax, kind))

os.makedirs(out, exist_ok=True)
for d in ['data', 'models']:
    shutil.copytree(os.path.join(src, d), os.path.join(out, d), dirs_exist_ok=True)
json.dump({'version': 1, 'reference': 'Quantus v0.6.0 (commit 85bc29d1) RegionPerturbation, Selectivity, PixelFlipping, re-traced in numpy 1.24 by scripts/investigations/quantus06_perturbation_reference.py',
           'tolerance_note': 'relative: |got - expected| <= tolerance * max(1, |expected|), element-wise', 'cases': cases}, open(os.path.join(out, 'manifest.json'), 'w'), indent=1)
print(f'{len(cases)} cases written to {out}/manifest.json')
