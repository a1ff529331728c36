"""``python -m sentiment.runs``: queue a training run, list the runs, show one, cancel one
(``launch [train options] | list | show RUN_ID | cancel RUN_ID``); and ``_supervise ROOT``, the runs
root's supervisor process. The launch options are those of ``python -m sentiment.train`` (its parser),
less --out and --metrics, which the run owns. Torch-free."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sentiment.errors import GateScopeError
from sentiment.spec import MAX_RUNS_ENV
from sentiment.training import launcher, registry
from sentiment.training.config import is_switch
from sentiment.training.supervisor import supervise_main


def fmt_event(ev: dict) -> str:
    t = ev.get("type")
    if t == "start":
        return f"start: device {ev.get('device')}, sizes {ev.get('sizes')}, {ev.get('params')} parameters, vocab {ev.get('vocab')}"
    if t == "step":
        return f"step {ev.get('step')} (epoch {ev.get('epoch')}, batch {ev.get('batch')}/{ev.get('batches')}): loss {ev.get('loss', 0):.4f} acc {ev.get('acc', 0):.3f}"
    if t == "epoch":
        val = ev.get("val_acc")  # None for a refit (no held-out reviews)
        return (f"epoch {ev.get('epoch')}: train loss {ev.get('train_loss', 0):.4f} train acc {ev.get('train_acc', 0):.3f} "
                + ("no validation (refit)" if val is None else f"val acc {val:.3f}") + f" ({ev.get('seconds', 0):.0f} s)")
    if t == "done":
        return f"done: test accuracy {ev.get('test_accuracy', 0):.4f} on {ev.get('test_size')} reviews"
    if t == "error":
        return f"error: {ev.get('reason')}"
    return json.dumps(ev)


def _add_train_options(la: argparse.ArgumentParser) -> None:
    """The trainer's own options (its parser's), each defaulting to "not given"."""
    for key, action in launcher.run_options().items():
        flag = action.option_strings[0]
        if is_switch(action) and len(action.option_strings) > 1:
            la.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=action.help)
        elif is_switch(action):
            la.add_argument(flag, action="store_const", const=True, default=None, help=action.help)
        else:
            la.add_argument(flag, type=action.type, choices=action.choices, default=None, required=key == "data",
                            metavar=action.metavar, help=action.help)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m sentiment.runs", description="Background training runs of GateScope.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    la = sub.add_parser("launch", help="queue a training run (the options of python -m sentiment.train, less --out/--metrics); prints its id last")
    _add_train_options(la)
    la.add_argument("--name", default=None, help="a label for the run")
    la.add_argument("--max-concurrent", type=int, default=None, help=f"runs training at once (default ${MAX_RUNS_ENV} or 1)")
    la.add_argument("--kill-grace", type=float, default=None, help="seconds past --max-seconds before a hard kill (default 60)")
    sub.add_parser("list", help="all runs, oldest first")
    sh = sub.add_parser("show", help="a run's state and its metrics so far")
    sh.add_argument("run_id")
    ca = sub.add_parser("cancel", help="stop a queued or running run")
    ca.add_argument("run_id")
    sv = sub.add_parser("_supervise", help=argparse.SUPPRESS)
    sv.add_argument("dir")
    return ap


def launch_cmd(opts: dict) -> int:
    """Queue a run with the terminal's limits, but no more waiting runs than the Train page allows
    (launcher.MAX_QUEUED): both fill the same queue. Refused (exit 2, nothing written) past it."""
    over: dict = {k: opts[k] for k in ("max_concurrent", "kill_grace") if opts.get(k) is not None}
    over["max_queued"] = launcher.MAX_QUEUED
    if opts.get("max_seconds") is not None:
        over["max_seconds"] = opts["max_seconds"]
    limits = launcher.RunLimits.from_env(**over)
    known = launcher.run_options()
    cfg = {k: v for k, v in opts.items() if (k in known or k == "name") and v is not None}
    run = launcher.launch(cfg, limits)
    print(f"queued run {run.id} in {run.dir} (at most {limits.max_concurrent} at once; "
          f"time limit {run.status.get('max_seconds'):g} s)", file=sys.stderr)
    print(run.id)
    return 0


def list_cmd() -> int:
    runs = registry.list_runs()
    if not runs:
        print(f"no runs in {registry.runs_root()}")
    for r in runs:
        extra = f"  ({r.reason})" if r.reason else ""
        where = f"  on {r.node}" if r.node else ""
        print(f"{r.id}  {r.state:<9}  {r.device or '-':<6}  {registry._iso(r.created)}  {Path(r.config.get('data', '')).name}{where}{extra}")
    return 0


def show_cmd(run_id: str) -> int:
    r = registry.get(run_id)
    print(f"run      {r.id}" + (f" ({r.config['name']})" if r.config.get("name") else ""))
    print(f"state    {r.state}" + (f": {r.reason}" if r.reason else ""))
    print(f"device   {r.device or '-'}")
    print(f"pid      {r.pid or '-'}")
    if r.status.get("backend"):
        print(f"cluster  {r.status.get('backend')} {r.status.get('ray_address')}: job {r.id} {r.status.get('ray_status') or '-'}")
        print(f"node     {r.node or '-'}")
    print(f"created  {registry._iso(r.created)}   started {registry._iso(r.started)}   ended {registry._iso(r.ended)}")
    print(f"data     {r.config.get('data')}")
    print(f"model    {r.model_dir or '-'}")
    evs = registry.metrics(r.id)
    print(f"metrics  {len(evs)} events")
    last_step = None
    for ev in evs:
        if ev.get("type") == "step":
            last_step = ev
            continue
        print("  " + fmt_event(ev))
    if last_step and r.active:
        print("  latest " + fmt_event(last_step))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.cmd == "_supervise":
            return supervise_main(Path(args.dir))
        if args.cmd == "launch":
            return launch_cmd(vars(args))
        if args.cmd == "list":
            return list_cmd()
        if args.cmd == "show":
            return show_cmd(args.run_id)
        if args.cmd == "cancel":
            r = launcher.cancel(args.run_id)
            print(f"{r.id} {r.state}" + (f": {r.reason}" if r.reason else ""))
            return 0
    except GateScopeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
