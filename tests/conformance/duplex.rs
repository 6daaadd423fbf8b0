//! An in-memory duplex implementing hyper's `Read` and `Write`, on no
//! runtime at all: what `tokio::io::duplex` and hyper-util's `TokioIo` do,
//! for every backend.
use hyper::rt::{Read, ReadBufCursor, Write};
use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

#[derive(Default)]
struct Pipe {
    buf: VecDeque<u8>,
    closed: bool,
    reader: Option<Waker>,
}

pub struct Duplex {
    rx: Arc<Mutex<Pipe>>,
    tx: Arc<Mutex<Pipe>>,
}

pub fn duplex() -> (Duplex, Duplex) {
    let (a, b) = (Arc::<Mutex<Pipe>>::default(), Arc::<Mutex<Pipe>>::default());
    (
        Duplex {
            rx: a.clone(),
            tx: b.clone(),
        },
        Duplex { rx: b, tx: a },
    )
}

fn close(p: &Mutex<Pipe>) {
    let mut p = p.lock().unwrap();
    p.closed = true;
    if let Some(w) = p.reader.take() {
        w.wake();
    }
}

impl Read for Duplex {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let mut p = self.rx.lock().unwrap();
        if p.buf.is_empty() {
            if p.closed {
                return Poll::Ready(Ok(())); // EOF
            }
            p.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = buf.remaining().min(p.buf.len());
        let (front, back) = p.buf.as_slices();
        let k = n.min(front.len());
        buf.put_slice(&front[..k]);
        buf.put_slice(&back[..n - k]);
        p.buf.drain(..n);
        Poll::Ready(Ok(()))
    }
}

impl Write for Duplex {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut p = self.tx.lock().unwrap();
        if p.closed {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        p.buf.extend(data); // unbounded: fine for a test double
        if let Some(w) = p.reader.take() {
            w.wake();
        }
        Poll::Ready(Ok(data.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        close(&self.tx);
        Poll::Ready(Ok(()))
    }
}

impl Drop for Duplex {
    fn drop(&mut self) {
        close(&self.tx);
        close(&self.rx);
    }
}

/// Helpers for a raw (non-hyper) peer.
impl Duplex {
    pub async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        futures::future::poll_fn(|cx| Pin::new(&mut *self).poll_write(cx, data))
            .await
            .map(drop)
    }
}
