"""Report rendering shared by the evaluation, robustness, external-corpus and dataset-audit reports.

report.document: a document model (sections of text, tables, figures) written as Markdown and as one
self-contained HTML file, the Jinja environment the report templates share, and the Markdown table.
report.figures: headless matplotlib, figures as PNG bytes or files, and base64 for inline images.
It imports nothing of the project's other packages, so every layer above schemas/ can use it.
"""
