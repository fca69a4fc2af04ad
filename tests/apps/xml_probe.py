"""Prints what ElementTree, minidom and sax make of well-formed and malformed documents, one
line each, so tests/compat.rs can compare rwsgi with CPython line for line."""

import io
import xml.dom.minidom
import xml.etree.ElementTree as ET
import xml.sax
from xml.parsers import expat

DOCUMENTS = [
    "<a><b></a>",
    "<a>",
    "",
    "<a>&foo;</a>",
    '<a xmlns:bar=""/>',
    "<p:a/>",
    "<a/><b/>",
    "<a>text</a> junk",
    '<a x="1" x="2"/>',
    "<a>\x01</a>",
    '<a>ok &amp; <b x="1"/><![CDATA[<c>]]></a>',
    "<!DOCTYPE a [<!ENTITY e 'v'>]><a>&e;</a>",
    "<?xml version='1.0' encoding='iso-8859-1'?><a>\xbd \u65e5\u672c</a>",
    "<a>1\r\n2\r3</a>",
    # Not here: namespace declarations on minidom's output (RustPython's pyexpat delivers no
    # namespace-declaration events; a known difference, README).
]


def etree(doc):
    try:
        root = ET.fromstring(doc)
        return "ET %s %r %r" % (root.tag, root.text, [(c.tag, c.attrib) for c in root])
    except ET.ParseError as err:
        return "ET ParseError %s code=%s position=%s" % (err, err.code, err.position)


def minidom(doc):
    try:
        return "minidom " + xml.dom.minidom.parseString(doc).documentElement.toxml()
    except expat.ExpatError as err:
        return "minidom ExpatError %s code=%s line=%s offset=%s" % (err, err.code, err.lineno, err.offset)


def sax(doc):
    try:
        xml.sax.parseString(doc.encode("utf-8"), xml.sax.ContentHandler())
        return "sax ok"
    except xml.sax.SAXParseException as err:
        return "sax %s" % err


for doc in DOCUMENTS:
    print(repr(doc), "|", etree(doc), "|", minidom(doc), "|", sax(doc))

parser = ET.XMLParser()
parser.feed("<a><b>")
parser.feed("</b>")
try:
    parser.feed("</c>")
    parser.close()
    print("incremental: accepted")
except ET.ParseError as err:
    print("incremental:", err)
print("iterparse:", [(e, el.tag) for e, el in ET.iterparse(io.BytesIO(b"<a><b/></a>"), ("start", "end"))])
try:
    list(ET.iterparse(io.BytesIO(b"<a><b></a>")))
    print("iterparse malformed: accepted")
except ET.ParseError as err:
    print("iterparse malformed:", err)
print("bytes latin-1:", repr(ET.fromstring("<?xml version='1.0' encoding='iso-8859-1'?><a>\xbd</a>".encode("latin-1")).text))
print("ErrorString:", expat.ErrorString(7), expat.errors.messages[9], expat.errors.codes["undefined entity"])
