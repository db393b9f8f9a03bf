"""What every entry point shares: offline defaults, one-line user errors, a
quiet console.

  from embtrans import cli  # first: offline defaults, quiet jax backend probe

  def main(argv):
    cli.start(workdir)          # logs -> <workdir>/log.txt once it exists
    cli.check_workdir(workdir)  # before anything is written
    ...

  if __name__ == "__main__":
    cli.run(main, "embtrans")   # instead of app.run(main)

A user error ends the process with one line, `<prog>: error: <message>`, and
exit status 1, before anything is written: a bad flag, a `--config=` file
that does not exist, a `get_config(arg)` that rejects its `:arg`, a mistyped
`--config.` override (with the nearest field), a workdir that is a file, a
missing optional package, and the errors of USER_ERRORS raised by the work
itself (bad config values, missing or corrupt data or checkpoint, NaN loss).
`EMBTRANS_TRACEBACK=1` re-raises instead.

The console shows warnings, errors and one progress bar per stage; absl INFO
lines go to `<workdir>/log.txt` (entries without a workdir drop them).
`--alsologtostderr`, `--logtostderr` or an explicit `--verbosity` show them
on the console too.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib.util
import logging as std_logging
import os
import pathlib
import re
import sys
from typing import Any, Callable, Iterator, Sequence

# Offline defaults for every entry point (each imports this module first):
# no model or dataset hub is reachable, so never try one.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
               "TOKENIZERS_PARALLELISM": "false"}
for _key, _value in OFFLINE_ENV.items():
  os.environ.setdefault(_key, _value)

# jax probes every backend when it first needs a device and logs each one it
# cannot open ("Unable to initialize backend 'tpu'") at INFO: noise on a CPU
# run. Set before jax initialises its backends.
std_logging.getLogger("jax._src.xla_bridge").setLevel(std_logging.WARNING)

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app
from absl import flags
from absl import logging
# The parser class of DEFINE_config_file flags (not re-exported).
from ml_collections.config_flags.config_flags import ConfigFileFlagParser

# Errors that carry a complete message for the user: no traceback needed.
# (TrainingDivergedError is a FloatingPointError, data.format.DatasetError a
# ValueError; checkpointing.CheckpointError is added once that module is
# loaded, see _user_error_types.)
USER_ERRORS = (ValueError, FileNotFoundError, FloatingPointError)

# Optional packages and how to install them (named in the one-line error).
INSTALL_HINTS = {"chromadb": "pip install -e '.[chroma]'",
                 "pytest": "pip install -e '.[test]'"}

LOG_FILE = "log.txt"


class QuietLibraries(std_logging.Filter):
  """Drops INFO chatter from Orbax (one line per save phase)."""

  def filter(self, record: std_logging.LogRecord) -> bool:
    return record.levelno >= std_logging.WARNING or (
        "orbax" not in record.pathname)


class QuietConsole(std_logging.Filter):
  """Console: warnings and errors only, unless the user asked for logs."""

  def filter(self, record: std_logging.LogRecord) -> bool:
    return record.levelno >= std_logging.WARNING or verbose_console()


def verbose_console() -> bool:
  """--alsologtostderr, --logtostderr or an explicit --verbosity given."""
  f = flags.FLAGS
  return f.is_parsed() and (f.alsologtostderr or f.logtostderr or
                            f["verbosity"].present)


class WorkdirLog(std_logging.Handler):
  """Appends log records to `<workdir>/log.txt` once the workdir exists.

  Records logged before the run creates its workdir are kept in memory and
  written first; nothing creates the directory for them, so a run refused
  before it writes anything leaves no log file either.
  """

  def __init__(self, workdir: str | os.PathLike, keep: int = 10_000):
    super().__init__()
    self.path = pathlib.Path(workdir) / LOG_FILE
    self.pending: list[str] = []
    self.keep = keep
    self.file = None
    self.before: tuple | None = None  # (log size or None, other entries)
    self.setFormatter(logging.PythonFormatter())
    self.addFilter(QuietLibraries())

  def _others(self) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in self.path.parent.iterdir()
            if p.name != LOG_FILE}

  def emit(self, record: std_logging.LogRecord) -> None:
    try:
      line = self.format(record) + "\n"
      if self.file is None and self.path.parent.is_dir():
        size = self.path.stat().st_size if self.path.exists() else None
        self.before = (size, self._others())
        self.file = open(self.path, "a", encoding="utf-8")  # pylint: disable=consider-using-with
        self.file.writelines(self.pending)
        self.pending = []
      if self.file is None:
        self.pending = (self.pending + [line])[-self.keep:]
      else:
        self.file.write(line)
        self.file.flush()
    except Exception:  # pylint: disable=broad-except
      self.handleError(record)

  def undo_if_idle(self) -> None:
    """A run refused before it wrote anything else (say, its checkpoint
    is unreadable) leaves the log as it found it."""
    if self.file is None or self.before is None:
      return
    size, others = self.before
    if self._others() != others:
      return
    self.file.close()
    self.file = None
    if size is None:
      self.path.unlink(missing_ok=True)
    else:
      os.truncate(self.path, size)

  def close(self) -> None:
    if self.file is not None:
      self.file.close()
    super().close()


def start(workdir: str | os.PathLike | None = None, devices: bool = True
          ) -> None:
  """A quiet console, logs into `workdir`; with `devices`, a multi-process
  run joined and the devices logged (this imports jax)."""
  handler = logging.get_absl_handler()
  handler.addFilter(QuietLibraries())
  handler.addFilter(QuietConsole())
  if workdir:
    std_logging.getLogger().addHandler(WorkdirLog(workdir))
  if not devices:
    return
  import jax
  from embtrans import sharding
  sharding.initialize_distributed()
  logging.info("JAX %s, %d devices (%s).", jax.__version__,
               jax.device_count(), jax.devices()[0].platform)


def on_process_zero(fn: Callable[..., Any], *args, **kwargs) -> Any:
  """`fn(*args, **kwargs)` on process 0 only; None on the others.

  For the entries whose work is writing files once (report, export,
  apply): under a multi-process launch (sharding.distributed_mode) the other
  processes wait at a barrier until process 0 is done, so a launcher that
  stops everything when one process ends sees them all end together. A plain
  run just calls `fn`.
  """
  from embtrans import sharding  # pylint: disable=g-import-not-at-top
  if sharding.distributed_mode() is None:
    return fn(*args, **kwargs)
  import jax  # pylint: disable=g-import-not-at-top
  from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
  if not jax.distributed.is_initialized():
    sharding.initialize_distributed()
  out = None
  try:
    if jax.process_index() == 0:
      out = fn(*args, **kwargs)
    else:
      std_logging.getLogger(__name__).info(
          "Process %d: process 0 writes; waiting for it.", jax.process_index())
  finally:
    multihost_utils.sync_global_devices("embtrans: process 0 done")
  return out


def check_workdir(path: str | os.PathLike | None, flag: str = "--workdir"
                  ) -> None:
  """Refuses a directory that cannot be made: a file, or under a file."""
  if not path:
    raise ValueError(f"{flag} is required.")
  p = pathlib.Path(path).expanduser()
  if p.exists() and not p.is_dir():
    raise ValueError(f"{flag}={path} is a file, not a directory: pass a new "
                     "directory (or the directory of an earlier run).")
  parent = p
  while not parent.exists():
    parent = parent.parent
  if not parent.is_dir():
    raise ValueError(f"{flag}={path}: {parent} is a file, so the directory "
                     "cannot be made; pass another path.")
  if not os.access(parent, os.W_OK):
    raise ValueError(f"{flag}={path}: {parent} is not writable; pass "
                     "another path.")


def _user_error_types() -> tuple[type[BaseException], ...]:
  ckpt = sys.modules.get("embtrans.checkpointing")
  return USER_ERRORS + ((ckpt.CheckpointError,) if ckpt else ())


def user_message(e: BaseException) -> str | None:
  """The one-line message for a user error; None for a bug."""
  if isinstance(e, ModuleNotFoundError) and e.name:
    top = e.name.split(".")[0]
    hint = INSTALL_HINTS.get(top, f"pip install {top}")
    return (f"this needs the package {top!r}, which is not installed: "
            f"{hint}.")
  if isinstance(e, _user_error_types()):
    return " ".join(str(e).split())
  return None


def fail(prog: str, message: str) -> None:
  """Prints `<prog>: error: <message>` on one line and exits with 1."""
  sys.stdout.flush()
  print(f"{prog}: error: {' '.join(message.split())}", file=sys.stderr,
        flush=True)
  for handler in std_logging.getLogger().handlers:
    if isinstance(handler, WorkdirLog):
      handler.undo_if_idle()
  sys.exit(1)


@contextlib.contextmanager
def user_errors(prog: str) -> Iterator[None]:
  """Turns a user error (see user_message) into one line and exit 1."""
  try:
    yield
  except Exception as e:  # pylint: disable=broad-except
    message = user_message(e)
    if message is None or os.environ.get("EMBTRANS_TRACEBACK"):
      raise
    fail(prog, message)


def run(main: Callable[[list[str]], Any], prog: str,
        argv: Sequence[str] | None = None) -> None:
  """`app.run(main)` with one-line errors for flags, configs and main."""
  def parse(args: list[str]) -> list[str]:
    with user_errors(prog):
      check_config_flags(args)
      try:
        return flags.FLAGS(args)
      except flags.Error as e:
        raise ValueError(f"{e}. See --helpfull.") from e

  def wrapped(args: list[str]) -> Any:
    with user_errors(prog):
      try:
        return main(args)
      except app.UsageError as e:
        raise ValueError(str(e)) from e

  app.run(wrapped, argv=list(argv) if argv is not None else None,
          flags_parser=parse)


# --- config flags ------------------------------------------------------------


def _config_flag_names() -> list[str]:
  return [name for name in flags.FLAGS
          if isinstance(flags.FLAGS[name].parser, ConfigFileFlagParser)]


def _flag_value(args: Sequence[str], name: str) -> str | None:
  for i, a in enumerate(args):
    if a in (f"--{name}", f"-{name}") and i + 1 < len(args):
      return args[i + 1]
    m = re.fullmatch(rf"--?{name}=(.*)", a, re.S)
    if m:
      return m.group(1)
  return None


def load_config(spec: str, flag: str = "--config") -> Any:
  """`path[:arg]` -> get_config(arg); one-line ValueErrors for the user."""
  file = check_config_file(spec, flag)
  path, sep, arg = spec.partition(":")
  module_spec = importlib.util.spec_from_file_location(
      f"_cli_config_{file.stem}", file)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  if not hasattr(module, "get_config"):
    raise ValueError(f"{flag}={spec}: {path} has no get_config(arg).")
  try:
    return module.get_config(*([arg] if sep else []))
  except (ValueError, TypeError, KeyError) as e:
    raise ValueError(f"{flag}={spec}: {e}") from e


def check_config_file(spec: str, flag: str = "--config") -> pathlib.Path:
  """The file of `path[:arg]`, or a ValueError naming the nearest config."""
  path = spec.partition(":")[0]
  file = pathlib.Path(path).expanduser()
  if not file.is_file():
    folder = next((p for p in (file.parent, pathlib.Path("configs"))
                   if p.is_dir()), None)
    known = sorted(str(p) for p in folder.glob("*.py")) if folder else []
    close = difflib.get_close_matches(str(path), known, n=1)
    raise ValueError(
        f"{flag}={spec}: no config file {path}." +
        (f" Did you mean {close[0]}?" if close else "") +
        (f" Configs in {folder}: {', '.join(known)}." if known else ""))
  return file


def _fields(node: Any) -> list[str] | None:
  if hasattr(node, "keys") and callable(node.keys):
    return sorted(node.keys())
  return None


def check_override(config: Any, path: str, flag: str = "--config") -> None:
  """Raises a ValueError naming the nearest field if `path` is not one."""
  node, done = config, []
  for part in path.split("."):
    fields = _fields(node)
    where = f"{flag}.{'.'.join(done)}" if done else flag
    if fields is None:
      raise ValueError(f"{flag}.{path}: {where} is a value "
                       f"({node!r}), it has no field {part!r}.")
    if part not in fields:
      close = difflib.get_close_matches(part, fields, n=1, cutoff=0.5)
      hint = (f" Did you mean {flag}.{'.'.join(done + close)}?"
              if close else "")
      raise ValueError(f"{flag}.{path}: the config has no field "
                       f"{'.'.join(done + [part])}.{hint} Fields of "
                       f"{where}: {', '.join(fields)}.")
    node = node[part]
    done.append(part)


def check_config_flags(args: Sequence[str]) -> None:
  """Loads each --config file given and checks its --config.* overrides."""
  for name in _config_flag_names():
    spec = _flag_value(args, name)
    overrides = [m.group(2) for m in (
        re.match(rf"--?(no)?{name}\.([^=]+)", a) for a in args) if m]
    if spec is None:
      if overrides:
        raise ValueError(f"--{name}.{overrides[0]} needs --{name}=<file>.")
      continue
    config = load_config(spec, f"--{name}")
    for path in overrides:
      check_override(config, path, f"--{name}")
