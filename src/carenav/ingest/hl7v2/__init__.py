"""HL7 v2 ADT intake: files and an MLLP listener.

``framing`` splits and normalises raw text, ``parse`` turns one message into a typed ``AdtMessage``
with python-hl7, ``intake`` stores, applies and acknowledges one message, ``files`` imports files and
``mllp`` is the asyncio listener.
"""
