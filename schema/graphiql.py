"""GraphiQL without a CDN: strawberry's page, its scripts vendored under `schema/static/graphiql/`
(pinned to the versions and sha384 hashes strawberry's page names, each with its licence), so the
back office works on a machine with no internet. Who gets the page is still decided by the
schema variant (`graphql_ide`); the assets themselves are public."""

from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

ASSETS_URL = "/static/graphiql"
ASSETS_DIR = Path(__file__).parent / "static" / "graphiql"
_PAGE = (Path(__file__).parent / "graphiql.html").read_text()


class LocalGraphiQL:
    """Mixin for strawberry's ASGI view: its IDE page, referencing only this app's URLs."""

    async def render_graphql_ide(self, request) -> HTMLResponse:
        return HTMLResponse(_PAGE)


def graphiql_assets_route() -> Mount:
    return Mount(ASSETS_URL, app=StaticFiles(directory=ASSETS_DIR), name="graphiql-assets")
