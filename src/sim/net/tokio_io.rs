//! tokio's `AsyncRead` and `AsyncWrite` on [`Stream`], with the `tokio`
//! feature.

use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;

use super::Stream;

#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
impl tokio::io::AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let max = buf.remaining();
        self.get_mut()
            .poll_read_with(cx, max, &mut |bytes| buf.put_slice(bytes))
            .map_ok(drop)
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
impl tokio::io::AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_bytes(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_shutdown_write()
    }
}
