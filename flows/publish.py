"""Publish: rebuild the marts, write the reports, export Parquet, post Prefect artifacts."""

from __future__ import annotations

from prefect import get_run_logger

from content_audit.settings import Settings
from warehouse.session import RunSession


def publish(run: RunSession, settings: Settings) -> None:
    get_run_logger().info("Publish: reports go to %s", settings.out_dir)
