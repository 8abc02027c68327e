"""Channels: where wheels are published (a local directory or Anaconda.org), and their tools."""
