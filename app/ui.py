"""The coaching page: ``build_ui(coach) -> gr.Blocks`` and ``launch`` (127.0.0.1 only).

Layout, top to bottom: input (upload / webcam / motion file, examples, activity, Analyze)
next to the skeleton overlay and the key facts; the chat next to the frames the model looked
at (gallery), its relevance-over-time plot and the 3D skeleton of a chosen frame; the
joint-angle plot; the report export. Handlers live in ``app.handlers``; this module wires.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import gradio as gr

from app import handlers
from app.coach import Coach
from core.analytics import SUPPORTED_ACTIVITIES
from core.limits import MAX_UPLOAD_BYTES
from core.motion_io import MOTION_SUFFIXES
from core.pose.video import VIDEO_SUFFIXES
from core.termination import Termination

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples" / "inputs"
ACTIVITY_CHOICES = [("auto (guess from the movement)", "auto")] + [
    (name.replace("_", " "), name) for name in SUPPORTED_ACTIVITIES
]
PRIVACY_NOTE = (
    "Runs entirely on this computer: your videos, skeletons and questions never leave it "
    "(the page is served on 127.0.0.1 and no model calls the internet)."
)
INTRO = (
    "# LLaMo Coach\nUpload or record a golf swing, baseball swing or exercise, press "
    "**Analyze**, then ask about the movement. Each answer shows the moments the model "
    "looked at; click one to see that pose in 3D."
)
CSS = "#facts {min-height: 8em} #privacy {font-size: 0.9em; opacity: 0.8} .unsure {opacity: 0.55}"


def example_files(suffixes: tuple[str, ...]) -> list[str]:
    """Example inputs shipped in ``examples/inputs`` (made by ``examples/make_examples.py``)."""
    if not EXAMPLES_DIR.is_dir():
        return []
    return sorted(str(p) for p in EXAMPLES_DIR.iterdir() if p.suffix.lower() in suffixes)


def _input_column() -> dict[str, Any]:
    with gr.Tabs():
        with gr.Tab("Video"):
            # include_audio=True keeps the upload as it is: dropping the sound would make
            # Gradio call a system ffmpeg, which we do not need (imageio-ffmpeg reads it all).
            video = gr.Video(label="Clip: upload or record with the webcam",
                             sources=["upload", "webcam"], elem_id="clip-input", height=320,
                             include_audio=True)  # fmt: skip
            videos = example_files(VIDEO_SUFFIXES)
            if videos:
                gr.Examples(videos, inputs=[video], label="Example clips (made by our own code)")
        with gr.Tab("Motion file"):
            motion_file = gr.File(label="Skeleton file (.npz, .npy, .csv, .json)",
                                  file_types=list(MOTION_SUFFIXES), elem_id="motion-input")  # fmt: skip
            motions = example_files(MOTION_SUFFIXES)
            if motions:
                gr.Examples(motions, inputs=[motion_file], label="Example motion files")
    activity = gr.Dropdown(ACTIVITY_CHOICES, value="auto", label="Sport / exercise",
                           elem_id="activity")  # fmt: skip
    analyze_btn = gr.Button("Analyze", variant="primary", elem_id="analyze-btn")
    return {"video": video, "motion_file": motion_file, "activity": activity,
            "analyze_btn": analyze_btn}  # fmt: skip


def _chat_row() -> dict[str, Any]:
    with gr.Row(equal_height=False):
        with gr.Column(scale=1):
            chat = gr.Chatbot(label="Ask the coach", elem_id="chat", height=420,
                              placeholder="Analyze a clip, then ask e.g. "
                              "'When is the top of the backswing?'")  # fmt: skip
            with gr.Row():
                question = gr.Textbox(placeholder="Ask about the movement...", show_label=False,
                                      scale=4, elem_id="question", submit_btn=False)  # fmt: skip
                ask_btn = gr.Button("Ask", variant="primary", scale=1, elem_id="ask-btn")
        with gr.Column(scale=1):
            gallery = gr.Gallery(label="Frames the model looked at (click one for 3D)",
                                 elem_id="viewpoint-gallery", columns=4, height=220,
                                 allow_preview=False, interactive=False)  # fmt: skip
            relevance = gr.Plot(label="Where the model looked, over time", elem_id="relevance-plot")
            skeleton = gr.Image(label="3D skeleton of the chosen frame", elem_id="skeleton-3d",
                                interactive=False, height=300)  # fmt: skip
    return {"chat": chat, "question": question, "ask_btn": ask_btn, "gallery": gallery,
            "relevance": relevance, "skeleton": skeleton}  # fmt: skip


def build_ui(coach: Coach) -> gr.Blocks:
    """The page; every browser tab gets its own session in a ``gr.State``."""
    with gr.Blocks(title="LLaMo Coach", delete_cache=(900, 3600)) as demo:
        state = gr.State(None, delete_callback=handlers.close_session)
        gr.Markdown(INTRO)
        gr.Markdown(f"Model: {coach.model_label}", elem_id="model-info")
        gr.Markdown(PRIVACY_NOTE, elem_id="privacy")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1):
                inp = _input_column()
            with gr.Column(scale=1):
                overlay = gr.Video(label="Your skeleton", elem_id="overlay-video",
                                   interactive=False, autoplay=True, loop=True, height=320)  # fmt: skip
                facts = gr.Markdown("Key facts (phases, reps, angles, tempo) appear here.",
                                    elem_id="facts")  # fmt: skip
        ui = _chat_row()  # right under the clip: analyse, then ask, without scrolling far
        angles = gr.Plot(label="Joint angles over time", elem_id="angles-plot")
        with gr.Row():
            fmt = gr.Radio(list(handlers.EXPORT_FORMATS), value=next(iter(handlers.EXPORT_FORMATS)),
                           label="Report format", scale=2)  # fmt: skip
            export_btn = gr.Button("Export report", elem_id="export-btn", scale=1)
            report_file = gr.File(label="Report", elem_id="report-file", scale=2)
        _wire(coach, state, inp, overlay, facts, angles, ui, fmt, export_btn, report_file)
    return demo


def _wire(coach: Coach, state: gr.State, inp: dict, overlay: gr.Video, facts: gr.Markdown,
          angles: gr.Plot, ui: dict, fmt: gr.Radio, export_btn: gr.Button,
          report_file: gr.File) -> None:  # fmt: skip
    """Connect the events to ``app.handlers`` (closures bind the shared coach)."""

    def on_analyze(session, video, motion_file, activity, progress=gr.Progress()):
        return handlers.analyze(coach, session, video, motion_file, activity, progress)

    def on_ask(session, question):
        yield from handlers.ask(coach, session, question)

    def on_select(session, evt: gr.SelectData):
        image, caption = handlers.show_frame(session, evt.index)
        return gr.update(value=image, label=caption)

    inp["analyze_btn"].click(
        on_analyze, [state, inp["video"], inp["motion_file"], inp["activity"]],
        [state, overlay, facts, angles, ui["chat"], ui["gallery"], ui["relevance"],
         ui["skeleton"]],
        show_progress_on=[overlay],  # one bar with its description, not eight spinners
    )  # fmt: skip
    ask_io = {"inputs": [state, ui["question"]],
              "outputs": [ui["chat"], ui["question"], ui["gallery"], ui["relevance"]]}  # fmt: skip
    ui["ask_btn"].click(on_ask, show_progress_on=[ui["chat"]], **ask_io)
    ui["question"].submit(on_ask, show_progress_on=[ui["chat"]], **ask_io)
    ui["gallery"].select(on_select, [state], [ui["skeleton"]])
    export_btn.click(handlers.export, [state, fmt], [report_file])


def launch(
    coach: Coach,
    host: str = "127.0.0.1",
    port: int | None = 7860,
    termination: Termination | None = None,
    **kwargs: Any,
) -> gr.Blocks:
    """Serve the page locally and return it; ``share`` is always off (nothing is tunnelled).

    Blocks until Ctrl+C or SIGTERM (see :func:`serve_until_stopped`) unless
    ``prevent_thread_lock=True`` is passed (tests, notebooks).
    """
    demo = build_ui(coach)
    demo.queue(default_concurrency_limit=2)
    kwargs.pop("share", None)
    block = not kwargs.pop("prevent_thread_lock", False)
    demo.launch(
        server_name=host, server_port=port, share=False, max_file_size=f"{MAX_UPLOAD_BYTES // 2**20}mb",
        allowed_paths=[str(EXAMPLES_DIR)], css=CSS, footer_links=[], quiet=True,
        prevent_thread_lock=True, **kwargs,
    )  # fmt: skip
    where = (
        "this computer only"
        if host in ("127.0.0.1", "localhost", "::1")
        else (f"reachable from your network on {host}: only do this on a network you trust")
    )
    print(f"LLaMo Coach is running on {demo.local_url} ({where}). Ctrl+C stops it.")
    if block:
        serve_until_stopped(demo, termination)
    return demo


def serve_until_stopped(demo: gr.Blocks, termination: Termination | None = None) -> None:
    """Wait while ``demo`` serves, then close it. A SIGTERM whose ``SystemExit`` was lost
    (Python ignores one raised in a ``__del__``) stops it at the next tick of the wait."""
    try:
        while demo.is_running:
            time.sleep(0.1)
            if termination is not None:
                termination.check()
    finally:
        demo.close()
