"""Seatwise: race-safe restaurant capacity, availability and table assignment."""
