"""Static files storage: WhiteNoise's compressed files with content-hashed names."""
from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    """Hashed names from collectstatic's manifest (cached by browsers for good). A file that was never
    collected (tests, a checkout before its first collectstatic) keeps its plain name, which WhiteNoise
    serves from the app's static folder (WHITENOISE_USE_FINDERS), instead of failing the page."""

    manifest_strict = False

    def stored_name(self, name):
        try:
            return super().stored_name(name)
        except ValueError:  # not in STATIC_ROOT either
            return name
