"""How requests arrive and leave: streamable HTTP (both protocol eras, sessions, the
fast path), the HTTP facade, stdio, and the credential check at the door."""
