#!/usr/bin/env python3
"""PyTorch side of the epoch-time benchmark (see train_epoch.sh).

The same models as recorder/src/train/models (LeNet-5 at width k with softplus,
no padding, 32x32 input; the Bayes-by-Backprop LeNet with local
reparameterisation), the same synthetic MNIST-sized data, batch 256, Adam
lr 0.001, the same loss (cross-entropy; ELBO = NLL x N + 0.1 KL), the same per-batch
bookkeeping (index gather, loss and accuracy sums on the device), one warm-up
pass over two batches, then one timed training epoch, device synchronised
before and after. Prints one line per model: `arch width seconds`.
"""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def widths(k):
    up = lambda u: math.ceil(u * k - 1e-9)
    c2 = up(16)
    return up(6), c2, c2 * 25, up(120)


class LeNet(nn.Module):
    def __init__(self, k, channels=1):
        super().__init__()
        c1, c2, f_in, f1 = widths(k)
        self.conv1 = nn.Conv2d(channels, c1, 5)
        self.conv2 = nn.Conv2d(c1, c2, 5)
        self.fc1 = nn.Linear(f_in, f1)
        self.fc2 = nn.Linear(f1, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.softplus(self.conv1(x)), 2)
        x = F.max_pool2d(F.softplus(self.conv2(x)), 2)
        x = x.flatten(1)
        x = F.softplus(self.fc1(x))
        x = F.softplus(self.fc2(x))
        return self.fc3(x)

    def kl(self):
        return None


class BayesLayer(nn.Module):
    def __init__(self, conv, in_dim, out_dim):
        super().__init__()
        self.conv = conv
        shape = (out_dim, in_dim, 5, 5) if conv else (out_dim, in_dim)
        self.w_mu = nn.Parameter(torch.empty(shape).normal_(0, 0.1))
        self.w_rho = nn.Parameter(torch.empty(shape).normal_(-5, 0.1))
        self.b_mu = nn.Parameter(torch.empty(out_dim).normal_(0, 0.1))
        self.b_rho = nn.Parameter(torch.empty(out_dim).normal_(-5, 0.1))

    def apply_(self, x, w, b):
        return F.conv2d(x, w, b) if self.conv else F.linear(x, w, b)

    def forward(self, x):
        w_sigma, b_sigma = F.softplus(self.w_rho), F.softplus(self.b_rho)
        mu = self.apply_(x, self.w_mu, self.b_mu)
        var = 1e-16 + self.apply_(x * x, w_sigma ** 2, b_sigma ** 2)
        return mu + var.sqrt() * torch.randn_like(mu)

    def kl(self, prior_sigma=0.1):
        total = 0.0
        for mu, rho in ((self.w_mu, self.w_rho), (self.b_mu, self.b_rho)):
            sigma = F.softplus(rho)
            total = total + (math.log(prior_sigma) - sigma.log()
                             + (sigma ** 2 + mu ** 2) / (2 * prior_sigma ** 2) - 0.5).sum()
        return total


class BayesLeNet(nn.Module):
    def __init__(self, k, channels=1):
        super().__init__()
        c1, c2, f_in, f1 = widths(k)
        self.layers = nn.ModuleList([
            BayesLayer(True, channels, c1), BayesLayer(True, c1, c2),
            BayesLayer(False, f_in, f1), BayesLayer(False, f1, 84), BayesLayer(False, 84, 10)])

    def forward(self, x):
        l = self.layers
        x = F.max_pool2d(F.softplus(l[0](x)), 2)
        x = F.max_pool2d(F.softplus(l[1](x)), 2)
        x = x.flatten(1)
        x = F.softplus(l[2](x))
        x = F.softplus(l[3](x))
        return l[4](x)

    def kl(self):
        return sum(layer.kl() for layer in self.layers)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def epoch(model, opt, x, y, n, batch, train_size, beta=0.1):
    # As the Rust loop: gather each batch through an index (the shuffle),
    # and keep loss and correct-prediction sums on the device.
    order = torch.arange(n, device=x.device)
    loss_sum = torch.zeros((), dtype=torch.float64, device=x.device)
    correct = torch.zeros((), dtype=torch.float64, device=x.device)
    for start in range(0, n, batch):
        idx = order[start:start + batch]
        xb, yb = x.index_select(0, idx), y.index_select(0, idx)
        log_probs = F.log_softmax(model(xb), dim=1)
        loss = F.nll_loss(log_probs, yb)
        kl = model.kl()
        if kl is not None:
            loss = loss * train_size + beta * kl
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            loss_sum += loss.detach().double() * len(idx)
            correct += (log_probs.argmax(1) == yb).sum().double()
    return loss_sum.item() / n, correct.item() / n


def bench(arch, k, n, device, batch=256):
    torch.manual_seed(0)
    x = torch.rand(n, 1, 32, 32, device=device)
    y = torch.randint(0, 10, (n,), device=device)
    model = (LeNet if arch == "lenet" else BayesLeNet)(k).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    epoch(model, opt, x, y, min(2 * batch, n), batch, n)
    sync(device)
    t0 = time.perf_counter()
    epoch(model, opt, x, y, n, batch, n)
    sync(device)
    return time.perf_counter() - t0


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--n-examples", type=int, default=10000)
    p.add_argument("--models", default="lenet:1,lenet:5,bcnn:1")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    if a.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(a.device)
    for spec in a.models.split(","):
        arch, k = spec.split(":")
        print(f"{arch} {k} {bench(arch, float(k), a.n_examples, device):.4f}", flush=True)


if __name__ == "__main__":
    main()
