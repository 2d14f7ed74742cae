-- The structured answer an inbound message gave to the thread's pending
-- rich-content prompt (a Choice as JSON), when it answered one.
ALTER TABLE messages ADD COLUMN choice TEXT;
