"""MkDocs hook: serve the repository's ``results/figures`` as ``results/figures/`` of the site.

The pages link to the figures the benchmarks write (``results/figures/*.png``) without a copy
of them in ``docs/``.
"""

from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]


def on_files(files, config):
    for png in sorted((ROOT / "results" / "figures").glob("*.png")):
        files.append(
            File(
                f"results/figures/{png.name}",
                src_dir=str(ROOT),
                dest_dir=config["site_dir"],
                use_directory_urls=config["use_directory_urls"],
            )
        )
    return files
