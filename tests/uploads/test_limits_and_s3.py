"""The per-account upload rate, and the S3 backend against a real S3-compatible HTTP server
(moto's, the outside world's stand-in): bytes go to the bucket, not to disk, and come back."""

import boto3
import httpx
import pytest
from asgi_lifespan import LifespanManager
from moto.server import ThreadedMotoServer

from app.uploads.errors import UploadError
from app.uploads.storage import S3Storage, new_key, storage_for
from schema.server import create_app
from tests.servers import free_port
from tests.uploads.helpers import image_bytes, new_buyer

BUCKET = "ecom-uploads-test"


@pytest.fixture(scope="module")
def s3_endpoint():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                 aws_secret_access_key="test").create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


@pytest.fixture(scope="module")
def settings(settings, s3_endpoint):
    return settings.model_copy(update={
        "upload_s3_endpoint": s3_endpoint, "upload_s3_bucket": BUCKET, "upload_s3_access_key": "test",
        "upload_s3_secret_key": "test", "uploads_per_window": 3})


async def test_s3_storage_round_trip(settings):
    storage = storage_for(settings)
    assert isinstance(storage, S3Storage)
    key = new_key()
    await storage.put(key, b"bytes", "image/png")
    assert await storage.get(key) == b"bytes"


async def test_uploads_go_to_the_bucket_and_are_rate_limited(db, redis, settings):
    buyer = await new_buyer(db, settings)
    for key in await redis.keys(f"rl:upload:{buyer.subject}:*"):   # ids repeat across test databases
        await redis.delete(key)
    app = create_app(settings)
    async with LifespanManager(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                       base_url="http://test") as http:
        headers = {"authorization": f"Bearer {buyer.token}"}
        statuses, bodies = [], []
        for _ in range(4):
            response = await http.post("/uploads", headers=headers, data={"purpose": "REVIEW_IMAGE"},
                                       files={"file": ("a.png", image_bytes("PNG"), "image/png")})
            statuses.append(response.status_code)
            bodies.append(response.json())
        assert statuses == [201, 201, 201, 429]
        assert bodies[3]["error"]["code"] == UploadError.TOO_MANY_UPLOADS
        key = await db.fetchval("SELECT storage_key FROM uploads WHERE owner = $1 ORDER BY id LIMIT 1",
                                buyer.subject)
        s3 = boto3.client("s3", endpoint_url=settings.upload_s3_endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
        stored = s3.get_object(Bucket=BUCKET, Key=f"uploads/{key}")
        assert stored["ContentType"] == "image/png"
        assert not (settings.data_dir / "uploads").exists()
        read = await http.get(bodies[0]["url"], headers=headers)
        assert (read.status_code, read.content) == (200, stored["Body"].read())
