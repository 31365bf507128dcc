"""The web UI: our page against a Gradio page with the same generate form.

What the issue asks us to measure before choosing a page of our own over Gradio (the field's
convention): bytes a browser downloads to show the UI, time until it is usable (headless
Chromium, loopback, cold cache), and what each adds to an install.

    python benchmarks/ui.py                                   # our page only
    python benchmarks/ui.py --gradio-python /tmp/gv/bin/python  # and Gradio, from a venv that
                                                                # has 'pip install gradio'
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

GRADIO_APP = textwrap.dedent("""
    import sys
    import gradio as gr

    def generate(prompt, negative, seconds, seed, steps, cfg):
        return None

    with gr.Blocks(title="latentaudio") as demo:
        with gr.Tab("Generate"):
            prompt = gr.Textbox(label="Prompt")
            negative = gr.Textbox(label="Negative prompt")
            with gr.Row():
                seconds = gr.Number(8, label="Duration (s)")
                seed = gr.Number(None, label="Seed")
                steps = gr.Number(12, label="Steps")
                cfg = gr.Number(4, label="Guidance")
            button = gr.Button("Generate", elem_id="submit")
            audio = gr.Audio(label="Result")
            button.click(generate, [prompt, negative, seconds, seed, steps, cfg], audio)
        for name in ("Inpaint", "Vary", "Extend", "Loop"):
            with gr.Tab(name):
                gr.Audio(label="Input", type="filepath")
    demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[1]))
""")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def measure(url: str, ready: str, runs: int = 3) -> dict:
    """Median over fresh browser contexts: time to ``ready`` being visible, bytes downloaded."""
    from playwright.sync_api import sync_playwright

    times, sizes, counts = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for _ in range(runs + 1):  # the first warms the server, not counted
            context = browser.new_context()
            page = context.new_page()
            responses = []
            page.on("requestfinished", lambda request, seen=responses: seen.append(request))
            start = time.perf_counter()
            page.goto(url)
            page.wait_for_selector(ready, timeout=60_000)
            elapsed = time.perf_counter() - start
            page.wait_for_load_state("networkidle")
            total = sum(r.sizes()["responseBodySize"] + r.sizes()["responseHeadersSize"]
                        for r in responses)
            times.append(elapsed)
            sizes.append(total)
            counts.append(len(responses))
            context.close()
        browser.close()
    times, sizes, counts = times[1:], sizes[1:], counts[1:]
    return {"usable_ms": round(1000 * sorted(times)[len(times) // 2]),
            "kilobytes": round(sorted(sizes)[len(sizes) // 2] / 1024, 1),
            "requests": sorted(counts)[len(counts) // 2]}


def installed_mb(python: str, packages: list[str]) -> float:
    """Size on disk of these distributions and everything they require, in that Python."""
    code = textwrap.dedent(f"""
        import importlib.metadata as md, os, re
        seen, todo, total = set(), {packages!r}, 0
        while todo:
            name = re.split(r"[ ;<>=!~\\[]", todo.pop())[0].lower().replace("_", "-")
            if not name or name in seen:
                continue
            seen.add(name)
            try:
                dist = md.distribution(name)
            except md.PackageNotFoundError:
                continue
            for f in dist.files or []:
                p = dist.locate_file(f)
                if os.path.isfile(p):
                    total += os.path.getsize(p)
            todo += [r for r in (dist.requires or []) if "extra ==" not in r]
        print(total / 1e6)
    """)
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return round(float(out.stdout.strip()), 1)


def ours() -> dict:
    import uvicorn

    sys.path.insert(0, str(ROOT))
    import tempfile

    from latentaudio.app import Settings, create_app
    from tests.test_pipeline import pipe

    tiny = pipe.__wrapped__()
    port = free_port()
    app = create_app(Settings(Path(tempfile.mkdtemp())), lambda: (tiny, {"id": "tiny"}))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        result = measure(f"http://127.0.0.1:{port}/", "#model-state.ready")
    finally:
        server.should_exit = True
        thread.join(10)
    result["install_mb"] = installed_mb(sys.executable, ["fastapi", "uvicorn",
                                                         "python-multipart"])
    return result


def gradio(python: str) -> dict:
    port = free_port()
    script = Path("/tmp/latentaudio-gradio-bench.py")
    script.write_text(GRADIO_APP)
    started = time.perf_counter()
    process = subprocess.Popen([python, str(script), str(port)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               env={"GRADIO_ANALYTICS_ENABLED": "False", "PATH": "/usr/bin:/bin",
                                    "HOME": "/tmp"})
    try:
        import httpx

        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None:
                    raise SystemExit(process.stdout.read()[-2000:]) from None
                time.sleep(0.2)
        boot = time.perf_counter() - started
        result = measure(f"http://127.0.0.1:{port}/", "#submit")
        result["server_start_s"] = round(boot, 1)
    finally:
        process.terminate()
        process.wait(30)
    result["install_mb"] = installed_mb(python, ["gradio"])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gradio-python", default=None,
                        help="a Python with gradio installed, to measure it beside ours")
    args = parser.parse_args()
    results = {"ours": ours()}
    if args.gradio_python:
        results["gradio"] = gradio(args.gradio_python)
        version = subprocess.run([args.gradio_python, "-c",
                                  "import gradio; print(gradio.__version__)"],
                                 capture_output=True, text=True).stdout.strip()
        results["gradio"]["version"] = version
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
