// gitdav web interface: folder actions (upload, new folder, rename/move, delete). Owned by the actions work (docs/web.md).
'use strict';
