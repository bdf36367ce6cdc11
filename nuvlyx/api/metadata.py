"""OPTIONS on every route: 200 with the methods the path serves, never a serializer walk.

DRF's SimpleMetadata introspects the view's serializer (and 500s on views that have none);
integrations only need to know which methods exist, which the `Allow` header also says.
"""

from rest_framework.metadata import BaseMetadata


class AllowedMethodsMetadata(BaseMetadata):
    def determine_metadata(self, request, view) -> dict:
        return {"name": view.get_view_name(), "allowedMethods": list(view.allowed_methods)}
