"""Stripe sandbox: an in-memory server speaking Stripe's v1 wire protocol for stripe-python.

The app factory lives in ``app.py``; nothing here runs at import time.
"""
