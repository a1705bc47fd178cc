"""The Teams app package: `deploy/teams/manifest.json` filled in from settings, with its icons,
zipped for upload in Teams (Apps > Manage your apps > Upload an app) or the Teams admin center.

The manifest is a template with `${{NAME}}` placeholders, the convention of Microsoft's Teams
Toolkit, so a company can edit names and descriptions without touching code.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from trustbot.config import Settings

_PLACEHOLDER = re.compile(r"\$\{\{([A-Z0-9_]+)\}\}")
# What the manifest may name, and where each value comes from.
PACKAGE_NEEDS = (
    "TEAMS_CLIENT_ID",
    "TEAMS_APP_PUBLISHER",
    "TEAMS_APP_WEBSITE_URL",
    "TEAMS_APP_PRIVACY_URL",
    "TEAMS_APP_TERMS_URL",
)
_ICON_SIZES = {"color": (192, 192), "outline": (32, 32)}


class PackageError(Exception):
    """The template or its icons cannot make a package Teams would accept (one line)."""


@dataclass(frozen=True, slots=True)
class Package:
    path: Path
    manifest: dict[str, Any]


def build_package(settings: Settings, source: Path, out: Path) -> Package:
    """Fill in `source`/manifest.json, check it and its icons, and write the zip to `out`."""
    settings.require(*PACKAGE_NEEDS)
    values = {
        "TEAMS_CLIENT_ID": settings.teams_client_id,
        "TEAMS_APP_PUBLISHER": settings.teams_app_publisher,
        "TEAMS_APP_WEBSITE_URL": settings.teams_app_website_url,
        "TEAMS_APP_PRIVACY_URL": settings.teams_app_privacy_url,
        "TEAMS_APP_TERMS_URL": settings.teams_app_terms_url,
        "TRUSTBOT_VERSION": version("trustbot"),
    }
    template_path = source / "manifest.json"
    try:
        template = template_path.read_text(encoding="utf-8")
    except OSError as error:
        raise PackageError(f"cannot read {template_path}: {error.strerror}") from None
    unknown = sorted(set(_PLACEHOLDER.findall(template)) - set(values))
    if unknown:
        raise PackageError(f"{template_path}: unknown placeholder ${{{{{unknown[0]}}}}}")
    filled = _PLACEHOLDER.sub(lambda match: json.dumps(values[match.group(1)])[1:-1], template)
    try:
        manifest: dict[str, Any] = json.loads(filled)
    except json.JSONDecodeError as error:
        raise PackageError(f"{template_path}: not JSON: {error}") from None
    icons = {kind: source / name for kind, name in manifest.get("icons", {}).items()}
    for kind, size in _ICON_SIZES.items():
        _check_icon(icons.get(kind), kind, size)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        for path in icons.values():
            archive.write(path, arcname=path.name)  # Teams wants a flat zip
    return Package(path=out, manifest=manifest)


def _check_icon(path: Path | None, kind: str, size: tuple[int, int]) -> None:
    from PIL import Image, UnidentifiedImageError

    if path is None:
        raise PackageError(f"manifest.json names no {kind} icon")
    try:
        with Image.open(path) as image:
            if image.format != "PNG" or image.size != size:
                raise PackageError(
                    f"{path}: the {kind} icon must be a {size[0]}x{size[1]} PNG, "
                    f"not a {image.size[0]}x{image.size[1]} {image.format}"
                )
            if kind == "outline" and "A" not in image.getbands():
                raise PackageError(f"{path}: the outline icon needs a transparent background")
    except (OSError, UnidentifiedImageError) as error:
        raise PackageError(f"cannot read the {kind} icon {path}: {error}") from None
