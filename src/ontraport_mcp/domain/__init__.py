"""Ontraport knowledge the tools share: condition expressions, dates, record shaping, offers."""
