"""Where upload bytes live: local disk under `data_dir/uploads` by default, an S3-compatible
bucket when `UPLOAD_S3_BUCKET` is set. Keys are random (`new_key`), never a client's name, so
no request can choose or guess a path. Both backends do their blocking I/O in a thread.

S3 goes through boto3 (the AWS SDK, kept by AWS; its clients are thread-safe) in
`asyncio.to_thread`, rather than aiobotocore, which pins exact botocore versions and would tie
this project's upgrades to its release cadence (docs/DECISIONS.md, "Uploads")."""

import asyncio
import os
import secrets
from pathlib import Path
from typing import Protocol

from app.config import Settings


def new_key() -> str:
    """128 random bits as hex: the object's name in every backend."""
    return secrets.token_hex(16)


class UploadStorage(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...
    async def get(self, key: str) -> bytes: ...


class LocalStorage:
    """Files `<root>/<first two hex digits>/<key>`, written to a temporary name then renamed, so a
    reader never sees half a file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if len(key) != 32 or not all(c in "0123456789abcdef" for c in key):
            raise ValueError("not a storage key")
        return self.root / key[:2] / key

    def _write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{key}.{secrets.token_hex(4)}")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._write, key, data)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)


class S3Storage:
    """One boto3 client per process; objects `uploads/<key>` in the bucket, private (no ACL)."""

    def __init__(self, settings: Settings) -> None:
        import boto3
        from botocore.config import Config
        self.bucket = settings.upload_s3_bucket
        self.client = boto3.client(
            "s3", endpoint_url=settings.upload_s3_endpoint, region_name=settings.upload_s3_region,
            aws_access_key_id=settings.upload_s3_access_key, aws_secret_access_key=settings.upload_s3_secret_key,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=20,
                          s3={"addressing_style": "path"}))

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self.client.put_object, Bucket=self.bucket, Key=f"uploads/{key}", Body=data,
                                ContentType=content_type)

    async def get(self, key: str) -> bytes:
        def read() -> bytes:
            return self.client.get_object(Bucket=self.bucket, Key=f"uploads/{key}")["Body"].read()
        return await asyncio.to_thread(read)


def storage_for(settings: Settings) -> UploadStorage:
    if settings.upload_s3_bucket:
        return S3Storage(settings)
    return LocalStorage(settings.data_dir / "uploads")
