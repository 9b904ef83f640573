#!/usr/bin/env node
'use strict';
require(require('./core.cjs').libraryFile('ops/status.js'));
