#!/usr/bin/python3
"""Reference numbers for src/strategies from Debian's python3-sklearn, on fixed data made here.

Run: /usr/bin/python3 scripts/strategies-reference.py  (writes test/fixtures/strategies/reference.json)
Users never need this; the test reads the committed JSON.
"""
import json
import numpy as np
import scipy.stats
import sklearn
from sklearn.cluster import SpectralClustering
from sklearn.mixture import GaussianMixture
from sklearn.mixture._gaussian_mixture import _estimate_gaussian_parameters
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC
from sklearn.datasets import make_moons
from sklearn.neighbors import kneighbors_graph
from scipy.sparse.csgraph import connected_components

rng = np.random.default_rng(17)
out = {"sklearn": sklearn.__version__}

# --- Gaussian mixtures: three correlated blobs in 5-d; the same initial hard assignment on both sides.
means = rng.normal(0, 4, size=(3, 5))
X = []
for c in range(3):
    a = rng.normal(size=(5, 5)) * 0.8
    X.append(rng.normal(size=(120 + 40 * c, 5)) @ a + means[c])
X = np.concatenate(X)
# Initial labels: nearest of three fixed points, so both implementations start from the same M-step.
seeds = X[[0, 150, 400]]
init = np.argmin(((X[:, None, :] - seeds[None]) ** 2).sum(-1), axis=1)
gmm_cases = []
for cov in ["full", "diag"]:
    resp = np.zeros((len(X), 3))
    resp[np.arange(len(X)), init] = 1
    w, m, c = _estimate_gaussian_parameters(X, resp, 1e-6, cov)
    w = w / len(X)
    prec = np.array([np.linalg.inv(ci) for ci in c]) if cov == "full" else 1.0 / c
    g = GaussianMixture(3, covariance_type=cov, tol=1e-10, max_iter=1000, reg_covar=1e-6,
                        weights_init=w, means_init=m, precisions_init=prec).fit(X)
    gmm_cases.append({
        "covariance": cov,
        "score": g.score(X),
        "scoreSamples": g.score_samples(X).tolist(),
        "bic": g.bic(X),
        "weights": g.weights_.tolist(),
        "means": g.means_.tolist(),
        "converged": bool(g.converged_),
    })
out["gmm"] = {"X": X.tolist(), "initLabels": init.tolist(), "cases": gmm_cases}

# --- Spectral clustering: two moons and a blob joined by thin bridges into one connected kNN graph (sklearn warns,
# and its arbitrary basis of a multiple eigenvalue differs from any other solver's, on a disconnected one); 150
# points (dense path) and 600 points (Krylov path). kNN connectivity with 10 neighbours besides the point itself.
def spectral_case(n, noise, seed):
    Xm, _ = make_moons(n_samples=n * 2 // 3 - 6, noise=noise, random_state=seed)
    g = np.random.default_rng(seed)
    blob = g.normal(size=(n - len(Xm) - 6, 2)) * 0.15 + np.array([2.6, 1.2])
    t = np.linspace(0, 1, 8)[1:-1]
    bridge = np.stack([2.0 + 0.6 * t, 0.5 + 0.7 * t], 1)
    Y = np.concatenate([Xm, blob, bridge])
    A = kneighbors_graph(Y, 11, include_self=True)
    assert connected_components(A + A.T)[0] == 1
    sc = SpectralClustering(3, affinity="nearest_neighbors", n_neighbors=11, random_state=0, assign_labels="kmeans").fit(Y)
    return {"X": Y.tolist(), "neighbors": 10, "clusters": 3, "labels": sc.labels_.tolist()}

out["spectral"] = [spectral_case(150, 0.07, 3), spectral_case(600, 0.07, 5)]

# --- CAVs: concept vs counterexample activations in 20-d, overlapping so the classifiers' directions differ.
d = 20
direction = rng.normal(size=d)
concept = rng.normal(size=(80, d)) + 0.6 * direction / np.linalg.norm(direction) + rng.normal(size=d) * 0.1
counter = rng.normal(size=(120, d)) * 1.2
Xc = np.concatenate([concept, counter])
yc = np.concatenate([np.ones(80), np.zeros(120)])
lr = LogisticRegression(C=0.5, tol=1e-12, max_iter=100000).fit(Xc, yc)
svm = LinearSVC(C=0.5, loss="squared_hinge", dual=True, tol=1e-12, max_iter=10_000_000, intercept_scaling=1.0).fit(Xc, yc)
pattern = concept.mean(0) - counter.mean(0)
out["cav"] = {
    "concept": concept.tolist(), "counter": counter.tolist(), "C": 0.5,
    "logistic": {"coef": lr.coef_[0].tolist(), "intercept": float(lr.intercept_[0])},
    "svm": {"coef": svm.coef_[0].tolist(), "intercept": float(svm.intercept_[0])},
    "pattern": (pattern / np.linalg.norm(pattern)).tolist(),
}

# --- Student's t-test as TCAV uses it.
a = rng.uniform(0.5, 0.9, size=10)
b = rng.uniform(0.3, 0.7, size=12)
t = scipy.stats.ttest_ind(a, b)
out["ttest"] = {"a": a.tolist(), "b": b.tolist(), "t": float(t.statistic), "p": float(t.pvalue)}

with open("test/fixtures/strategies/reference.json", "w") as f:
    json.dump(out, f)
print("written", {k: (len(v) if isinstance(v, list) else "") for k, v in out.items()})
