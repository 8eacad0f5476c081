"""MkDocs hook: the config reference in docs/config.md, generated from the schema's source
(rnncli.config.reference) where the page says `<!-- config-reference -->`."""

from rnncli.config import reference

MARKER = "<!-- config-reference -->"


def on_page_markdown(markdown, page, config, files):
    if MARKER in markdown:
        return markdown.replace(MARKER, reference.markdown())
    return markdown
