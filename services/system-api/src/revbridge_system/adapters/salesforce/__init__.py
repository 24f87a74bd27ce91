"""Salesforce adapter: contracts and accounts over REST/SOQL, signed pushes and polling."""
