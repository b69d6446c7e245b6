-- The demo shop's orders: the customer desk's order_status tool reads them.
CREATE TABLE orders (
    order_id TEXT PRIMARY KEY,
    customer TEXT NOT NULL,
    item     TEXT NOT NULL,
    status   TEXT NOT NULL,
    eta      TEXT NOT NULL
);
INSERT INTO orders VALUES
    ('K-4471', 'Ana Lima',      'espresso machine', 'shipped',          'May 5'),
    ('B-2290', 'Tom Becker',    'blender',          'delivered',        'April 21'),
    ('R-1043', 'Mei Chen',      'desk lamp',        'processing',       'June 1'),
    ('T-7781', 'Omar Haddad',   'running shoes',    'out for delivery', 'March 14'),
    ('M-5120', 'Lena Novak',    'headphones',       'delayed',          'July 7'),
    ('S-3308', 'Raj Patel',     'backpack',         'packed',           'May 19'),
    ('D-9012', 'Sofia Rossi',   'coffee grinder',   'waiting for payment', 'June 12'),
    ('H-6655', 'Jonas Berg',    'yoga mat',         'shipped',          'April 2');
CREATE TABLE escalations (
    key        TEXT PRIMARY KEY,   -- the tool call's idempotency key: one ticket per call
    summary    TEXT NOT NULL,
    message    TEXT NOT NULL,
    created_at REAL NOT NULL
);
