"""onnxruntime's warnings stay out of what nv12kit's own calls print (issue 18: clean exported reports)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import nv12kit
from nv12kit.runtime import quiet_onnxruntime


def noisy_model() -> onnx.ModelProto:
    """A conv whose bias comes from a Constant node (the quantiser warns) and an unused initializer (ORT warns)."""
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w")
    unused = numpy_helper.from_array(np.ones(7, np.float32), "never_used")
    bias = helper.make_node("Constant", [], ["b"], value=numpy_helper.from_array(np.zeros(4, np.float32)))
    conv = helper.make_node("Conv", ["image", "w", "b"], ["c"], pads=[1, 1, 1, 1])
    pool = helper.make_node("GlobalAveragePool", ["c"], ["p"])
    flat = helper.make_node("Flatten", ["p"], ["logits"])
    graph = helper.make_graph(
        [bias, conv, pool, flat], "noisy",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 4])], [weight, unused])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


SCRIPT = textwrap.dedent("""
    import sys, onnx, numpy as np, nv12kit
    model = onnx.load(sys.argv[1])
    frames = [np.full((16, 16, 3), v, np.uint8) for v in (40, 120, 200)]
    pre = nv12kit.Preprocess(mean=128, std=64)
    if sys.argv[2] == "quantize":
        nv12kit.quantize(model, frames, preprocess=pre, progress=False)
    else:
        nv12kit.Runner(model).run({"image": pre(frames[0])})
    print("done")
""")


@pytest.mark.parametrize("call", ["quantize", "runner"])
def test_our_calls_print_nothing_from_onnxruntime(tmp_path, call):
    path = tmp_path / "noisy.onnx"
    onnx.save(noisy_model(), path)
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(path), call], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONWARNINGS": "default"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "done"
    assert done.stderr == ""


def test_the_same_calls_do_warn_without_the_silencing(tmp_path):
    # The test above can fail: bare onnxruntime on the same model does print.
    path = tmp_path / "noisy.onnx"
    onnx.save(noisy_model(), path)
    bare = textwrap.dedent("""
        import sys, onnxruntime as ort
        ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
    """)
    done = subprocess.run([sys.executable, "-c", bare, str(path)], capture_output=True, text=True, timeout=60)
    assert "never_used" in done.stderr


def test_records_from_onnxruntime_are_dropped_inside_and_kept_outside():
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    root = logging.getLogger()
    handler = Keep()
    root.addHandler(handler)
    inside_ort = os.path.join(os.path.dirname(ort.__file__), "quantization", "qdq_quantizer.py")

    def record(message: str, level: int = logging.WARNING, path: str = inside_ort) -> logging.LogRecord:
        return logging.LogRecord("root", level, path, 1, message, None, None)

    try:
        with quiet_onnxruntime():
            root.handle(record("ort warning inside"))
            root.handle(record("ort error inside", logging.ERROR))
            root.handle(record("user warning inside", path=__file__))
            logging.getLogger("onnxruntime.quantization").warning("named ort warning inside")
        root.handle(record("ort warning after"))
    finally:
        root.removeHandler(handler)
    assert seen == ["ort error inside", "user warning inside", "ort warning after"]


def test_the_context_leaves_no_handler_or_level_behind():
    root, named = logging.getLogger(), logging.getLogger("onnxruntime")
    before = (list(root.handlers), list(root.filters), named.level)
    with quiet_onnxruntime():
        logging.warning  # noqa: B018 - the context must not depend on logging having been used
    assert (list(root.handlers), list(root.filters), named.level) == before


def test_runner_sessions_log_errors_only_and_users_options_are_kept():
    model = noisy_model()
    runner = nv12kit.Runner(model)
    assert runner.runtime.get_session_options().log_severity_level == 3
    mine = ort.SessionOptions()
    mine.log_severity_level = 1
    assert nv12kit.Runner(model, session_options=mine).runtime.get_session_options().log_severity_level == 1
