"""Verify mode: one candidate max LR trained with a one-cycle schedule for a few steps, scored on held-out data.

Each case runs a script unchanged under the hook with a `verify` field in the request (harness.run_sweep, as the
product does) and compares what the hook says with a hand-written reference written here from the contract
(docs/script-engine.md, "Verify mode"): before training step t every group's LR is fastai's one-cycle LR at t/N
(src/core/oneCycle.ts); a map-style dataset of length n holds out sorted(random.Random(n * 7919 + 17).sample(range(n),
round(holdout * n))), which never reach a training batch; after N steps the held-out indices come in batches of the
loader's batch size (at most evalBatches), and the candidate's loss is their sample-weighted mean loss.
"""
from __future__ import annotations

import math
import random
import signal
import time

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.data._utils.collate import default_collate

from harness import tree_diff
from reference import load_script
from sweep_cases import DATA, Case, register

IRIS_FILE = (DATA["iris"], "data/iris.csv")


# -- the contract, written out again ------------------------------------------------------------------------------------

def one_cycle(max_lr, t):
    """src/core/oneCycle.ts oneCycleLr(maxLr, t, FASTAI_ONE_CYCLE): pctStart 0.25, div 25, divFinal 1e5, cosine."""
    pct, div, div_final = 0.25, 25, 1e5
    start, end = max_lr / div, max_lr / div_final
    cos = lambda a, b, pos: a + ((1 + math.cos(math.pi * (1 - pos))) * (b - a)) / 2
    if t <= pct:
        return cos(start, max_lr, t / pct)
    return cos(max_lr, end, (t - pct) / (1 - pct))


def held_out(n, fraction):
    return sorted(random.Random(n * 7919 + 17).sample(range(n), max(1, round(fraction * n))))


def chunks(indices, size, limit):
    return [indices[k:k + size] for k in range(0, len(indices), size)][:limit]


def last_tenth(losses):
    k = max(1, (len(losses) + 5) // 10)
    tail = losses[-k:]
    return sum(tail) / len(tail)


def weighted_mean(scored):
    """[(loss, samples)] -> the sample-weighted mean, summed in order."""
    total, rows = 0.0, 0
    for loss, n in scored:
        total += loss * n
        rows += n
    return total / rows, rows


def verify_request(lr, steps, holdout=0.2, eval_batches=50):
    return {"verify": {"lr": lr, "steps": steps, "holdout": holdout, "evalBatches": eval_batches}}


# -- the cases ---------------------------------------------------------------------------------------------------------

_cancel_sent = {}


def cancel_after_5_points(event, proc):
    if event.get("type") == "point" and event["iteration"] == 4 and proc.pid not in _cancel_sent:
        _cancel_sent[proc.pid] = time.monotonic()
        proc.send_signal(signal.SIGTERM)


CLASSIFIER = [("v_classifier.py", "train.py")]
X_ADAM, N_ADAM = 3e-3, 50  # 19 batches an epoch: step 49 is in the middle of the third epoch
X_LBFGS, N_LBFGS = 0.5, 10  # 4 batches an epoch: step 9 is the second batch of the third epoch

register(
    Case("verify_classifier", CLASSIFIER, ["python", "train.py", "--trace"], request=verify_request(X_ADAM, N_ADAM)),
    Case("verify_classifier_workers", CLASSIFIER, ["python", "train.py", "--trace", "--workers", "2"],
         request=verify_request(X_ADAM, N_ADAM, eval_batches=3)),
    Case("verify_manual_batches", [("a_plain_steplr.py", "train.py"), IRIS_FILE], ["python", "train.py"],
         settings=dict(seedOffset=1), request=verify_request(0.1, 30)),
    Case("verify_huge_lr", [("a_plain_steplr.py", "train.py"), IRIS_FILE], ["python", "train.py"],
         request=verify_request(1e6, 60)),
    Case("verify_too_few_epochs", [("fail_too_few_epochs.py", "train.py")], ["python", "train.py"],
         request=verify_request(0.05, 30)),
    Case("verify_steps_fill_the_epoch", [("fail_too_few_epochs.py", "train.py")], ["python", "train.py"],
         request=verify_request(0.05, 20)),
    Case("verify_workers_end_with_training", CLASSIFIER, ["python", "train.py", "--epochs", "1", "--workers", "2"],
         request=verify_request(X_ADAM, 19)),
    Case("verify_lbfgs", [("v_lbfgs_loader.py", "fit.py")], ["python", "fit.py"],
         request=verify_request(X_LBFGS, N_LBFGS)),
    Case("verify_cancelled", [("slow_loader.py", "train.py")], ["python", "train.py"],
         request=verify_request(0.01, 200), on_event=cancel_after_5_points),
    Case("verify_distributed", [("a_plain_steplr.py", "train.py"), IRIS_FILE], ["python", "train.py"],
         env={"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0", "LR_FINDER_LAUNCHER": "torchrun --nproc_per_node 2"},
         request=verify_request(0.1, 30)),
)


def candidates(r):
    return [e for e in r.events if e.get("type") == "candidate"]


def types_after_points(r):
    return [e["type"] for e in r.events if e["type"] not in ("hello", "point")]


def check_clean(ran):
    r = ran.result
    assert not r.timed_out and not r.bad_lines, r.describe()
    assert r.report is not None, r.describe()
    assert r.report["outside"] == [], r.report
    diff = tree_diff(ran.before, ran.after())
    assert not diff, "the workspace changed:\n" + diff + "\n" + r.describe()


def trace(r):
    """The index lists the script printed, one per batch it trained on (or, in the eval phase, was given)."""
    return [[int(i) for i in line.split()[1:]] for line in r.stdout.splitlines() if line.startswith("batch ")]


# -- references ----------------------------------------------------------------------------------------------------------

def ref_classifier(lr, steps, holdout=0.2, eval_batches=50, follow=0):
    """v_classifier.py's loop by hand: the same model, data, shuffles and validation passes; every training batch
    minus the held-out indices; the one-cycle LR; then the loss on the held-out batches. Also returns the index lists
    of the training batches and of the `follow` batches the loader would have given after them."""
    m = load_script("v_classifier.py")
    args = m.parse_args([])
    torch.manual_seed(args.seed)
    train_set, val_set = m.make_datasets()
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    val_loader = DataLoader(val_set, batch_size=100)
    model = m.MLP(args.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=1e-4)
    held = held_out(len(train_set), holdout)
    hs = set(held)
    points, batches, after = [], [], []
    for epoch in range(args.epochs):
        model.train()
        for x, y, idx in train_loader:
            keep = torch.tensor([i not in hs for i in idx.tolist()])
            if not keep.any():
                continue
            if len(points) == steps:
                after.append(idx[keep].tolist())
                if len(after) >= follow:
                    break
                continue
            x, y = x[keep], y[keep]
            batches.append(idx[keep].tolist())
            t = len(points)
            for g in opt.param_groups:
                g["lr"] = one_cycle(lr, t / steps)
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            points.append({"iteration": t, "lr": one_cycle(lr, t / steps), "loss": loss.item()})
        else:
            m.evaluate(model, val_loader)  # the script's validation pass: its iterator draws from the global RNG
            continue
        break
    assert len(points) == steps
    model.train()  # the script's loop goes on in train mode
    scored = []
    eval_chunks = chunks(held, args.batch_size, eval_batches)
    for chunk in eval_chunks:
        x, y, _ = default_collate([train_set[i] for i in chunk])
        scored.append((F.cross_entropy(model(x), y).item(), len(chunk)))
    return points, batches, after, eval_chunks, scored, held


def ref_lbfgs(lr, steps, holdout=0.2, eval_batches=50):
    m = load_script("v_lbfgs_loader.py")
    args = m.parse_args([])
    torch.manual_seed(args.seed)
    x, y = m.make_curve(seed=args.seed)
    model = m.build_model()
    opt = torch.optim.LBFGS(model.parameters(), lr=args.lr, max_iter=args.max_iter, history_size=8)
    mse = nn.MSELoss()
    held = held_out(len(x), holdout)
    hs = set(held)
    order = [i for i in range(len(x)) if i not in hs]  # no shuffle: the same batches every epoch
    epoch_batches = [[i for i in range(k, min(k + args.batch_size, len(x))) if i not in hs]
                     for k in range(0, len(x), args.batch_size)]
    assert sum(map(len, epoch_batches)) == len(order)
    points = []
    for t in range(steps):
        idx = epoch_batches[t % len(epoch_batches)]

        def closure():
            opt.zero_grad()
            loss = mse(model(x[idx]), y[idx])
            loss.backward()
            return loss

        for g in opt.param_groups:
            g["lr"] = one_cycle(lr, t / steps)
        points.append({"iteration": t, "lr": one_cycle(lr, t / steps), "loss": opt.step(closure).item()})
    scored = []
    for chunk in chunks(held, args.batch_size, eval_batches):
        scored.append((mse(model(x[chunk]), y[chunk]).item(), len(chunk)))
    return points, scored


def ref_manual(lr, steps, seed_offset):
    """a_plain_steplr.py's loop by hand (no DataLoader: no held-out data), the seeds it sets plus the offset."""
    m = load_script("a_plain_steplr.py")
    args = m.parse_args([])
    torch.manual_seed(args.seed + seed_offset)
    x, y = m.load_iris(str(DATA["iris"]))
    (x_train, y_train), (x_val, y_val) = m.train_val_split(x, y)
    model = m.MLP(x.shape[1], args.hidden, len(m.SPECIES))
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    points = []
    while len(points) < steps:
        model.train()
        perm = torch.randperm(len(x_train))
        for start in range(0, len(x_train), args.batch_size):
            idx = perm[start:start + args.batch_size]
            t = len(points)
            for g in opt.param_groups:
                g["lr"] = one_cycle(lr, t / steps)
            opt.zero_grad()
            loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
            loss.backward()
            opt.step()
            points.append({"iteration": t, "lr": one_cycle(lr, t / steps), "loss": loss.item()})
            if len(points) == steps:
                break
        m.evaluate(model, x_val, y_val)
    return points


def assert_points(r, want):
    got = [{"iteration": p["iteration"], "lr": p["lr"], "loss": p["loss"]} for p in r.points]
    for k, (g, w) in enumerate(zip(got, want)):
        assert g == w, "point %d differs: hook %r, reference %r" % (k, g, w)
    assert len(got) == len(want), (len(got), len(want))


# -- the tests ---------------------------------------------------------------------------------------------------------

@pytest.mark.sweep("verify_classifier")
def test_held_out_loss_equals_a_hand_written_one_cycle_run(sweeps):
    points, batches, _, eval_chunks, scored, held = ref_classifier(X_ADAM, N_ADAM)
    ran = sweeps.get("verify_classifier")
    r = ran.result
    assert r.error is None and r.returncode == 0, r.describe()
    assert types_after_points(r) == ["candidate", "end", "report"], r.describe()
    assert r.hello["verify"] == {"lr": X_ADAM, "steps": N_ADAM, "seed": 0}, r.hello
    assert r.hello["config"]["numIter"] == 100  # the sweep settings, unchanged
    assert_points(r, points)  # every step: its one-cycle LR and its training loss, bit for bit

    # the training batches are the shuffled batches minus the held-out indices; then the held-out batches, in order
    seen = trace(r)
    assert seen[:N_ADAM] == batches
    assert not set(held) & {i for b in seen[:N_ADAM] for i in b}
    assert seen[N_ADAM:] == eval_chunks

    loss, rows = weighted_mean(scored)
    (c,) = candidates(r)
    assert c == {"type": "candidate", "lr": X_ADAM, "seed": 0, "steps": N_ADAM, "loss": loss,
                 "trainLoss": last_tenth([p["loss"] for p in points]), "diverged": False, "signal": "held-out",
                 "rows": rows, "batches": len(eval_chunks), "seconds": c["seconds"]}, (c, loss)
    assert rows == len(held) == 120 and isinstance(c["seconds"], float)
    assert r.end["reason"] == "completed" and r.end["points"] == N_ADAM, r.end
    check_clean(ran)


@pytest.mark.sweep("verify_classifier_workers")
def test_prefetched_training_batches_are_not_scored(sweeps):
    """Two workers keep 4 batches in flight: when the training steps are done, 4 training batches are already on
    their way. The script gets them (no-op steps), then the held-out batches: only those are scored."""
    points, batches, after, eval_chunks, scored, held = ref_classifier(X_ADAM, N_ADAM, eval_batches=3, follow=4)
    ran = sweeps.get("verify_classifier_workers")
    r = ran.result
    assert r.error is None and r.returncode == 0, r.describe()
    assert_points(r, points)  # the same batches as without workers
    seen = trace(r)
    assert seen[:N_ADAM] == batches
    assert seen[N_ADAM:N_ADAM + 4] == after, "the prefetched training batches"
    assert not set(held) & {i for b in seen[:N_ADAM + 4] for i in b}
    assert seen[N_ADAM + 4:] == eval_chunks and len(eval_chunks) == 3  # evalBatches: 3 of the 4
    loss, rows = weighted_mean(scored)
    (c,) = candidates(r)
    assert (c["loss"], c["rows"], c["batches"], c["signal"]) == (loss, rows, 3, "held-out"), c
    assert rows == 96
    assert r.end["reason"] == "completed", r.describe()
    check_clean(ran)


@pytest.mark.sweep("verify_manual_batches")
def test_without_a_dataloader_the_score_is_the_training_loss(sweeps):
    want = ref_manual(0.1, 30, seed_offset=1)
    ran = sweeps.get("verify_manual_batches")
    r = ran.result
    assert r.error is None and r.returncode == 0, r.describe()
    assert r.hello["verify"] == {"lr": 0.1, "steps": 30, "seed": 1}, r.hello
    assert_points(r, want)
    (c,) = candidates(r)
    tail = last_tenth([p["loss"] for p in want])
    assert (c["signal"], c["loss"], c["trainLoss"], c["rows"], c["batches"], c["seed"], c["steps"]) == \
        ("training", tail, tail, 0, 0, 1, 30), c
    assert types_after_points(r) == ["candidate", "end", "report"], r.describe()
    assert r.end["reason"] == "completed" and r.end["points"] == 30
    assert "saved" not in r.stderr  # the run ended after step 29, not at the script's end
    check_clean(ran)


@pytest.mark.sweep("verify_huge_lr")
def test_a_huge_lr_diverges(sweeps):
    ran = sweeps.get("verify_huge_lr")
    r = ran.result
    assert r.error is None, r.describe()
    assert 0 < len(r.points) < 60 and not math.isfinite(r.points[-1]["loss"]), r.describe()
    assert all(math.isfinite(p["loss"]) for p in r.points[:-1])
    (c,) = candidates(r)
    assert c["diverged"] is True and c["loss"] == "Infinity" and c["steps"] == len(r.points), c
    assert types_after_points(r) == ["candidate", "end", "report"], r.describe()
    assert r.end["reason"] == "diverged" and r.end["points"] == len(r.points), r.end
    check_clean(ran)


@pytest.mark.sweep("verify_too_few_epochs")
def test_a_script_ending_before_the_steps_is_ended_early(sweeps):
    ran = sweeps.get("verify_too_few_epochs")
    r = ran.result
    assert r.error is not None and r.error["code"] == "ended-early", r.describe()
    assert len(r.points) == 20 and not candidates(r) and r.end is None, r.describe()
    msg = r.error["message"]
    assert "20 of the verify run's 30" in msg and "--epochs 2" in msg, msg
    check_clean(ran)


@pytest.mark.sweep("verify_steps_fill_the_epoch")
def test_steps_that_fill_the_last_epoch_are_scored_by_the_same_iterator(sweeps):
    """One epoch of 20 batches, 20 steps: the single-process iterator asks for one more index after the last step
    and gets the held-out batches, so the script needs no further epoch."""
    ran = sweeps.get("verify_steps_fill_the_epoch")
    r = ran.result
    assert r.error is None and len(r.points) == 20, r.describe()
    (c,) = candidates(r)
    assert (c["signal"], c["rows"], c["batches"], c["steps"]) == ("held-out", 128, 4, 20), c
    assert r.end["reason"] == "completed", r.describe()
    check_clean(ran)


@pytest.mark.sweep("verify_workers_end_with_training")
def test_a_script_ending_right_after_the_steps_has_no_held_out_score(sweeps):
    """With workers, the epoch's last batch leaves nothing in flight: the epoch ends, and so does the script."""
    ran = sweeps.get("verify_workers_end_with_training")
    r = ran.result
    assert r.error is not None and r.error["code"] == "ended-early", r.describe()
    assert len(r.points) == 19 and not candidates(r) and r.end is None, r.describe()
    assert "held-out" in r.error["message"] and "--epochs 2" in r.error["message"], r.error
    check_clean(ran)


@pytest.mark.sweep("verify_lbfgs")
def test_lbfgs_closure_in_the_eval_phase(sweeps):
    points, scored = ref_lbfgs(X_LBFGS, N_LBFGS)
    ran = sweeps.get("verify_lbfgs")
    r = ran.result
    assert r.error is None and r.returncode == 0, r.describe()
    assert_points(r, points)
    loss, rows = weighted_mean(scored)
    (c,) = candidates(r)
    assert (c["loss"], c["rows"], c["batches"], c["signal"], c["diverged"]) == (loss, rows, 1, "held-out", False), \
        (c, loss)
    assert rows == 51
    assert r.end["reason"] == "completed", r.describe()
    check_clean(ran)


@pytest.mark.sweep("verify_cancelled")
def test_sigterm_cancels_without_a_candidate(sweeps):
    ran = sweeps.get("verify_cancelled")
    r = ran.result
    assert r.error is None and r.end is not None and r.end["reason"] == "cancelled", r.describe()
    assert 5 <= len(r.points) < 200 and r.end["points"] == len(r.points), r.describe()
    assert not candidates(r)
    check_clean(ran)


@pytest.mark.sweep("verify_distributed")
def test_distributed_verify_is_refused(sweeps):
    ran = sweeps.get("verify_distributed")
    r = ran.result
    assert r.error is not None and r.error["code"] == "verify-distributed", r.describe()
    assert r.error["message"].startswith("Verify runs single-process"), r.error
    assert not r.points and r.hello is None and "epoch" not in r.stderr, r.describe()
    diff = tree_diff(ran.before, ran.after())
    assert not diff, diff
