"""The reporting dashboard (驾驶舱): one page, its static files and the summary it draws."""
