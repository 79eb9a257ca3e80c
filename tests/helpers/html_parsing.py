"""Reading HTML made by the formatters in tests: tags with their attributes, inlined pictures."""
import base64
import io
from html.parser import HTMLParser

from PIL import Image


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def parse_tags(html):
    """``[(tag, {attribute: value})]`` of every start tag, in order."""
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def decode_picture(src):
    """The PIL image of a ``data:image/png|gif;base64,...`` URI."""
    header, data = src.split(",", 1)
    assert header in ("data:image/png;base64", "data:image/gif;base64"), header
    return Image.open(io.BytesIO(base64.b64decode(data)))
