"""A conformance kit for P1 consumers (issue 13 item 2; docs/conformance.md).

``situations``: the named field situations, each a short run of telegrams with its ground truth;
``play``: the telegrams of a situation, spoiled at the chosen CRC-error and cut-off rates;
``records``: the flat record a P1 consumer should report per telegram, and readers of consumer reports
(JSON lines, MQTT state messages, Home Assistant states); ``check``: truth against report, the first
difference.
"""
