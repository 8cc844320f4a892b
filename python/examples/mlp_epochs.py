"""A tiny PyTorch training run that reports its epochs to trainwatt: an MLP
on random data (the labels a fixed function of the inputs, so accuracy
rises), 3 epochs, ``epoch_start`` and ``report_epoch`` each epoch.

    recorder wrap --out archive -- python python/examples/mlp_epochs.py [REPORTED.json]

With an argument, the numbers reported are also written to that file as a
JSON list (the recorder's tests compare them with the run's epochs).
"""

import json
import sys

import torch
from torch import nn

import trainwatt

EPOCHS = 3


def accuracy_and_loss(model, x, y, loss_fn):
    with torch.no_grad():
        out = model(x)
        return (out.argmax(1) == y).float().mean().item(), loss_fn(out, y).item()


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    w = torch.randn(20, 3)
    x_train, x_test = torch.randn(2000, 20), torch.randn(500, 20)
    y_train, y_test = (x_train @ w).argmax(1), (x_test @ w).argmax(1)
    model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 3))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    reported = []
    for epoch in range(1, EPOCHS + 1):
        trainwatt.epoch_start(epoch)
        model.train()
        for i in range(0, len(x_train), 50):
            opt.zero_grad()
            loss_fn(model(x_train[i:i + 50]), y_train[i:i + 50]).backward()
            opt.step()
        model.eval()
        train_acc, train_loss = accuracy_and_loss(model, x_train, y_train, loss_fn)
        test_acc, test_loss = accuracy_and_loss(model, x_test, y_test, loss_fn)
        trainwatt.report_epoch(epoch, train_acc=train_acc, test_acc=test_acc,
                               train_loss=train_loss, test_loss=test_loss,
                               examples=len(x_train))
        reported.append({"epoch": epoch, "train_acc": train_acc, "test_acc": test_acc,
                         "train_loss": train_loss, "test_loss": test_loss})
        print("epoch %d: train %.3f test %.3f" % (epoch, train_acc, test_acc), file=sys.stderr)
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as f:
            json.dump(reported, f)


if __name__ == "__main__":
    main()
