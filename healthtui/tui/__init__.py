"""The Textual dashboard: trends, drill-downs from a spike to the commit and the lines, live refresh."""
