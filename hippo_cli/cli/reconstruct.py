"""``hippo reconstruct``: evaluate coefficient files (CSV, metrics, plots)."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import ParameterError
from .app import (
    FORCE,
    NAN,
    PANEL_BOUNDED,
    PANEL_HIPPO,
    PANEL_IO,
    QUIET,
    VERBOSE,
    GroupedCommand,
    NanPolicy,
    app,
    check_mode_options,
    cli_errors,
    inputs,
    say,
    value,
)
from .paths import check_output, is_stdio, not_this_kind, open_kind, refuse_stdin_kind


@app.command(cls=GroupedCommand)
@cli_errors
def reconstruct(
    ctx: typer.Context,
    coeffs: str = typer.Argument(..., help="A .hippo file (- for stdin), or a coefficient "
                                 ".npy written by hippo compress (with its .json sidecar)."),
    output: str | None = typer.Option(None, "--output", "-o", help="CSV file, - for "
                                         "stdout [stdout, or none when plotting].",
                                      rich_help_panel=PANEL_IO),
    step: int | None = typer.Option(None, "--step", "-s", help="Use the row of this emitted "
                                       "step [the last row].", rich_help_panel=PANEL_HIPPO),
    row: int | None = typer.Option(None, "--row", "-r", help="Use the row of this index (0 "
                                   "is the first, -1 the last) [the last row].",
                                   rich_help_panel=PANEL_HIPPO),
    all_rows: bool = typer.Option(False, "--all", "-a", help="Rebuild the whole signal: each "
                                  "row gives the samples since the previous row.",
                                  rich_help_panel=PANEL_HIPPO),
    original: str | None = typer.Option(None, "--original", help="The compressed input: "
                                           "report max error, RMSE, MAE, p99 and RMSE/std "
                                           "per column.", rich_help_panel=PANEL_IO),
    metrics_json: str | None = typer.Option(None, "--metrics-json", help="With --original: "
                                            "also write the error report to this JSON file.",
                                            rich_help_panel=PANEL_IO),
    plot: bool = typer.Option(False, "--plot", help="Draw the reconstruction (PNG).",
                              rich_help_panel=PANEL_IO),
    plot_file: str | None = typer.Option(None, "--plot-file", help="PNG path [<stem>.png for "
                                            "a .hippo file, <stem>.coeffs.png for "
                                            "coefficients].", rich_help_panel=PANEL_IO),
    channels: str | None = typer.Option(None, "--channels", help="Plot these channels only: "
                                        "names or 0-based indices, comma-separated [every "
                                        "channel; 16 a page: <plot>-2.png, ...].",
                                        rich_help_panel=PANEL_IO),
    plot_coeffs: bool = typer.Option(False, "--plot-coeffs", help="Also draw a heatmap of the "
                                     "coefficients over time (<stem>.heatmap.png).",
                                     rich_help_panel=PANEL_HIPPO),
    zoom_from: str | None = typer.Option(None, "--from", help="Decode (.hippo) or plot from "
                                         "this time (as in the file) or sample index.",
                                         rich_help_panel=PANEL_IO),
    zoom_to: str | None = typer.Option(None, "--to", help="Decode (.hippo) or plot up to "
                                       "this time or sample index (inclusive).",
                                       rich_help_panel=PANEL_IO),
    salvage: bool = typer.Option(False, "--salvage", help=".hippo: decode the intact frames "
                                 "before a corrupt one instead of stopping with an error.",
                                 rich_help_panel=PANEL_BOUNDED),
    threads: int | None = typer.Option(None, "--threads", help=".hippo: threads that decode "
                                       "frames at once [the cores available].", min=1,
                                       rich_help_panel=PANEL_BOUNDED),
    nan: NanPolicy = NAN,
    force: bool = FORCE,
    quiet: bool = QUIET,
    verbose: bool = VERBOSE,
) -> None:
    """Decode a .hippo file, or evaluate the history held by coefficients (CSV).

    A .hippo file: every sample, with its time (as in the input) or index, under the input's
    column names; --original reports the errors (each within the file's bound).

    Coefficients: by default the last row - legs: samples 0..k; legt: the last theta
    samples; lagt: the recent past until its weight e^-(lag) falls below 1e-6. --all: row r
    gives samples (k_{r-1}, k_r]; samples its measure does not cover (legt/lagt with every
    larger than the window) are left empty.
    """
    from ..storage import as_path

    inputs(coeffs, original)
    if metrics_json is not None and original is None:
        raise ParameterError("--metrics-json needs --original (the errors are measured "
                             "against it)")
    if channels is not None and not plot and not plot_coeffs:
        raise ParameterError("--channels chooses what --plot draws")
    if is_stdio(coeffs) and (plot or plot_coeffs) and plot_file is None:
        raise ParameterError("--plot of stdin needs --plot-file (there is no name to put "
                             ".png beside)")
    for out in (output, metrics_json, plot_file):  # every output named: before any input
        check_output(out, force)
    name, kind, fh = open_kind(coeffs)  # the one handle COEFFS is read from
    with fh:
        if kind not in ("hippo", "npy"):
            raise not_this_kind(name, kind, "a .hippo or coefficient file")
        refuse_stdin_kind(name, kind)
        check_mode_options(ctx, (PANEL_IO, PANEL_BOUNDED if kind == "hippo" else PANEL_HIPPO))
        if kind == "hippo":
            from ..codec import HippoReader

            png = as_path(plot_file) if plot_file else as_path(coeffs).with_suffix(".png")
            if plot and plot_file is None:
                check_output(png, force)
            with HippoReader(fh, name, salvage=salvage, threads=threads) as hf:
                chosen = (_plot_channels(channels, list(hf.header.channels), png, plot, force)
                          if plot else [])
                _decode_hippo(hf, output, original, plot, png, salvage, value(nan),
                              metrics_json=metrics_json, zoom=(zoom_from, zoom_to),
                              chosen=chosen)
            return
        _coefficients(coeffs, fh, output, step, row, all_rows, original, metrics_json, plot,
                      plot_file, plot_coeffs, zoom_from, zoom_to, channels, force)


# ``hippo decompress``: what a user of zstd or gzip types (zstd -d, gunzip); without it,
# click would suggest "compress" - the opposite
app.command("decompress", hidden=True, cls=GroupedCommand,
            help="The same as hippo reconstruct.")(reconstruct)


def _plot_channels(spec: str | None, names: list[str], png: Path, plot: bool,
                   force: bool) -> list[int]:
    """The channels the plot draws (``--channels``, else all); the files of its pages beyond
    the first are checked as outputs now, before any sample is read."""
    from ..pipelines.plot import page_paths, paginate, select_channels

    chosen = select_channels(spec, names)
    if plot:
        for path in page_paths(png, len(paginate(chosen, note=False)))[1:]:
            check_output(path, force)
    return chosen


def _written(what: str, paths: list[Path]) -> str:
    return (f"{what} written to {paths[0]}" if len(paths) == 1 else
            f"{what} written to {len(paths)} pages: {', '.join(map(str, paths))}")


def _coefficients(coeffs: str, fh, output: str | None, step: int | None, row: int | None,
                  all_rows: bool, original: str | None, metrics_json: str | None, plot: bool,
                  plot_file: str | None, plot_coeffs: bool, zoom_from: str | None,
                  zoom_to: str | None, channels: str | None, force: bool) -> None:
    from ..storage import as_path

    if (zoom_from is not None or zoom_to is not None) and not plot:
        raise ParameterError("--from/--to choose what --plot shows")
    from ..formats.coefficients import load_coefficients
    from ..pipelines import reconstruct as reconstruction

    if sum(x is not None and x is not False for x in (step, row, all_rows)) > 1:
        raise ParameterError("--step, --row and --all exclude each other")
    write_csv = output is not None or not (plot or plot_coeffs)
    stem = as_path(coeffs).name.removesuffix(".npy").removesuffix(".coeffs")
    png = as_path(plot_file) if plot_file else as_path(coeffs).with_name(stem + ".coeffs.png")
    heat_png = as_path(coeffs).with_name(stem + ".heatmap.png")
    if plot and plot_file is None:
        check_output(png, force)
    if plot_coeffs:
        check_output(heat_png, force)
    cf = load_coefficients(coeffs, fh)
    chosen = (_plot_channels(channels, list(cf.meta["columns"]), png, plot, force)
              if plot or plot_coeffs else [])
    if plot_coeffs:
        _plot_channels(channels, list(cf.meta["columns"]), heat_png, True, force)
    plan = reconstruction.plan(cf, step=step, row=row, whole=all_rows)
    window = (reconstruction.plot_window(cf, plan, zoom_from, zoom_to)
              if plot and (zoom_from is not None or zoom_to is not None) else None)
    result = reconstruction.run(
        cf, plan, csv_path=(output or "-") if write_csv else None, original=original,
        keep_for_plot=plot, window=window,
    )
    if metrics_json is not None:
        result.errors.write_json(metrics_json)
    for line in result.metrics_lines():
        say(line)
    if plot:
        from ..pipelines.plot import plot_reconstruction

        say(_written("plot", plot_reconstruction(cf, plan, result, png, chosen)))
    if plot_coeffs:
        from ..pipelines.plot import plot_coefficients

        say(_written("coefficient heatmap", plot_coefficients(cf, heat_png, channels=chosen)))


def _decode_hippo(hf, output: str | None, original: str | None, plot: bool, png: Path,
                  salvage: bool, nan: str, *, metrics_json: str | None,
                  zoom: tuple[str | None, str | None], chosen: list[int]) -> None:
    """Decode (and plot) the open file ``hf`` (decoding on its threads): the window, the
    rows and the plot all come from this one reader (never the path opened again)."""
    from ..pipelines.bounded import decode_to_csv

    write_csv = output is not None or not plot
    env = window = None
    if zoom[0] is not None or zoom[1] is not None or plot:
        from ..pipelines.bounded import plot_window

        window, count, channels = plot_window(hf, *zoom, salvage=salvage)
        if plot:
            from ..pipelines.envelope import Envelope

            env = Envelope(count, channels, window=window)
    stats = decode_to_csv(hf, (output or "-") if write_csv else None, original=original,
                          salvage=salvage, nan=nan, envelope=env, window=window,
                          on_note=say)
    if stats is not None and metrics_json is not None:
        stats.write_json(metrics_json)
    for line in stats.lines() if stats is not None else []:
        say(line)
    if plot:
        from ..pipelines.plot import plot_decoded

        say(_written("plot", plot_decoded(hf, env, png, chosen)))
