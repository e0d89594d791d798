"""Sync: a mirror of Attio in a database of the user's, kept in step both
ways.

- :mod:`~attio_automate.sync.mirror`: Attio's changes, through the inbox,
  applied to one table per mirrored object or list;
- :mod:`~attio_automate.sync.reconcile`: the periodic full comparison that
  repairs what the webhooks missed;
- :mod:`~attio_automate.sync.outbox` and :mod:`~attio_automate.sync.push`:
  the application's changes, upserted into Attio once each;
- :mod:`~attio_automate.sync.database`: the tables, through SQLAlchemy.
"""
